"""``uptime tokens create|list|revoke``: named API tokens with scopes, through a running API
(``uptime_cli.client``), which needs an admin token (``UPTIME_API_TOKEN`` is one) to make or
revoke them.

``create`` prints the token once, alone on its line on stdout (``TOKEN=$(uptime tokens create
...)`` keeps it), with a note on stderr: only its SHA-256 is stored, so nobody can show it
again. Errors are one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from uptime_cli.client import ApiError, Client, api_arguments, client_for
from uptime_core.runtime.settings import Settings

FIELDS = "id name scope createdAt revokedAt"
LIST = f"query ApiTokens {{ apiTokens {{ {FIELDS} }} }}"
CREATE = f"""mutation CreateApiToken($input: CreateApiTokenInput!) {{
  createApiToken(input: $input) {{
    __typename
    ... on CreatedApiToken {{ token apiToken {{ {FIELDS} }} }}
    ... on ValidationError {{ message }}
  }}
}}"""
REVOKE = f"""mutation RevokeApiToken($id: ID!) {{
  revokeApiToken(id: $id) {{
    __typename ... on ApiToken {{ {FIELDS} }} ... on NotFoundError {{ message }}
  }}
}}"""
SCOPES = ("read", "write", "admin")

ACTIONS = {
    "create": "make a named token with a scope; it is printed once",
    "list": "list the tokens, live and revoked (never their values)",
    "revoke": "revoke a live token by name: it stops working at once",
}


def add_parser(commands: Any) -> None:
    """``uptime tokens ...`` under the ``uptime`` parser's subcommands."""
    common = api_arguments()
    parser = commands.add_parser(
        "tokens",
        help="create, list or revoke named API tokens (read, write, admin) through the API",
        description="Named API tokens with scopes: read reads everything and scrapes "
        "/metrics; write also manages targets, channels and maintenance windows; admin also "
        "manages tokens and status pages. Needs an admin token (UPTIME_API_TOKEN is one).",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create", help=ACTIONS["create"], description=ACTIONS["create"], parents=[common]
    )
    create.add_argument("--name", required=True, help="unique among live tokens; logs show it")
    create.add_argument("--scope", required=True, choices=SCOPES, help="what the token may do")
    listing = actions.add_parser(
        "list", help=ACTIONS["list"], description=ACTIONS["list"], parents=[common]
    )
    listing.add_argument(
        "-o",
        "--output",
        choices=("text", "json"),
        default="text",
        help="text for people (the default), json for scripts",
    )
    revoke = actions.add_parser(
        "revoke", help=ACTIONS["revoke"], description=ACTIONS["revoke"], parents=[common]
    )
    revoke.add_argument("name", metavar="NAME", help="the live token's name, as `list` shows it")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Perform ``args.action``; 0, or 1 with one line on stderr."""
    try:
        with client_for(args, settings) as client:
            if args.action == "create":
                create(client, args.name, args.scope)
            elif args.action == "list":
                show_list(client.execute(LIST)["apiTokens"], args.output)
            else:
                revoke(client, args.name)
    except ApiError as error:
        print(f"uptime: error: {error}", file=sys.stderr)
        return 1
    return 0


def create(client: Client, name: str, scope: str) -> None:
    variables = {"input": {"name": name, "scope": scope.upper()}}
    result = client.execute(CREATE, variables)["createApiToken"]
    if result["__typename"] != "CreatedApiToken":
        raise ApiError(f"the API refused the token: {result['message']}")
    print(
        f"uptime: made {scope} token {name!r}; this is the only time it is shown (only its "
        "SHA-256 is stored): keep it now",
        file=sys.stderr,
    )
    print(result["token"], flush=True)


def revoke(client: Client, name: str) -> None:
    live = [
        t for t in client.execute(LIST)["apiTokens"] if t["name"] == name and not t["revokedAt"]
    ]
    if not live:
        raise ApiError(f"no live token is named {name!r}; `uptime tokens list` shows them")
    result = client.execute(REVOKE, {"id": live[0]["id"]})["revokeApiToken"]
    if result["__typename"] != "ApiToken":
        raise ApiError(f"no token named {name!r} any more (revoked meanwhile)")
    print(f"revoked {name}: it stops working at once, and its subscriptions are closed")


def show_list(found: list[dict[str, Any]], output: str) -> None:
    if output == "json":
        print(json.dumps(found, indent=2))
        return
    if not found:
        print("no tokens yet; make one with `uptime tokens create --name NAME --scope read`")
        return
    rows = [("NAME", "SCOPE", "CREATED", "REVOKED")]
    rows += [(t["name"], t["scope"].lower(), t["createdAt"], t["revokedAt"] or "-") for t in found]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
