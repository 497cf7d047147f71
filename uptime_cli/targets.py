"""``uptime targets list|show|pause|resume|check|delete``: the quick operations on targets, by
key, through a running API (``uptime_cli.client``), for people (a table, lines) and scripts
(``-o json``).

``delete`` asks no question: it is meant for scripts as much as for people, and a prompt would
make every script pass a flag to get past it. Errors are one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from uptime_cli.client import ApiError, Client, api_arguments, client_for
from uptime_core.runtime.settings import Settings

FIELDS = "id key name kind status paused url host port intervalSeconds"
RESULT = f"""__typename
    ... on Target {{ {FIELDS} }}
    ... on ValidationError {{ message }}
    ... on NotFoundError {{ message }}"""

LIST = f"""query Targets($first: Int!, $after: String) {{
  targets(first: $first, after: $after) {{
    edges {{ node {{ {FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""
BY_KEY = f"query TargetByKey($key: String!) {{ targetByKey(key: $key) {{ {FIELDS} }} }}"
SHOW = f"""query ShowTarget($key: String!) {{
  targetByKey(key: $key) {{
    {FIELDS} timeoutSeconds failureThreshold recoveryThreshold statusChangedAt createdAt
    lastCheck {{ status finishedAt latencyMs httpStatus message }}
    uptime(window: LAST_24_HOURS) {{ ratio checks failures }}
  }}
}}"""
MUTATIONS = {
    name: f"mutation {name.title()}($id: ID!) {{ {field}(id: $id) {{ {RESULT} }} }}"
    for name, field in (
        ("pause", "pauseTarget"),
        ("resume", "resumeTarget"),
        ("check", "checkTargetNow"),
    )
}
DELETE = """mutation Delete($id: ID!) {
  deleteTarget(id: $id) { __typename ... on Deleted { id } ... on NotFoundError { message } }
}"""
PAGE_SIZE = 100  # the API's largest page

ACTIONS = {
    "list": "list every target: key, name, kind, status, interval and address",
    "show": "show one target, its last check and its uptime over 24 hours",
    "pause": "stop checking a target (its history stays)",
    "resume": "check a paused target again, starting now",
    "check": "make a target due at once (a worker checks it within moments)",
    "delete": "delete a target with its checks and incidents (asks nothing: scripts use it)",
}


def add_parser(commands: Any) -> None:
    """``uptime targets ...`` under the ``uptime`` parser's subcommands."""
    # Every action takes the same options, after it: `uptime targets list -o json --url ...`.
    common = api_arguments()
    common.add_argument(
        "-o",
        "--output",
        choices=("text", "json"),
        default="text",
        help="text for people (the default), json for scripts",
    )
    parser = commands.add_parser(
        "targets",
        help="list, show, pause, resume, check or delete targets through the API",
        description="Quick operations on targets, by key, through a running API.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, help_text in ACTIONS.items():
        sub = actions.add_parser(action, help=help_text, description=help_text, parents=[common])
        if action != "list":
            sub.add_argument("key", metavar="KEY", help="the target's key, as `list` shows it")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Perform ``args.action``; 0, or 1 with one line on stderr."""
    try:
        with client_for(args, settings) as client:
            if args.action == "list":
                show_list(list_targets(client), args.output)
            elif args.action == "show":
                show_target(find(client, args.key, SHOW), args.output)
            else:
                change(client, args.action, args.key, args.output)
    except ApiError as error:
        print(f"uptime: error: {error}", file=sys.stderr)
        return 1
    return 0


# -- asking -----------------------------------------------------------------------------------


def list_targets(client: Client) -> list[dict[str, Any]]:
    """Every target, page by page."""
    found: list[dict[str, Any]] = []
    after = None
    while True:
        page = client.execute(LIST, {"first": PAGE_SIZE, "after": after})["targets"]
        found.extend(edge["node"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def find(client: Client, key: str, query: str = BY_KEY) -> dict[str, Any]:
    target: dict[str, Any] | None = client.execute(query, {"key": key})["targetByKey"]
    if target is None:
        raise ApiError(f"no target has the key {key!r}; `uptime targets list` shows the keys")
    return target


def change(client: Client, action: str, key: str, output: str) -> None:
    target = find(client, key)
    if action == "delete":
        result = client.execute(DELETE, {"id": target["id"]})["deleteTarget"]
        if result["__typename"] != "Deleted":
            raise ApiError(f"no target has the key {key!r} any more (deleted meanwhile)")
        if output == "json":
            print(json.dumps({"id": target["id"], "key": key, "deleted": True}))
        else:
            print(f"deleted {key} with its checks and incidents")
        return
    if action == "check" and target["paused"]:
        raise ApiError(f"{key} is paused; resume it first: uptime targets resume {key}")
    field = {"pause": "pauseTarget", "resume": "resumeTarget", "check": "checkTargetNow"}[action]
    result = client.execute(MUTATIONS[action], {"id": target["id"]})[field]
    kind = result.pop("__typename")
    if kind == "ValidationError":
        raise ApiError(f"the API refused to {action} {key}: {result['message']}")
    if kind == "NotFoundError":
        if action == "check":
            raise ApiError(f"{key} is being checked right now (or was just paused); try again")
        raise ApiError(f"no target has the key {key!r} any more (deleted meanwhile)")
    if output == "json":
        print(json.dumps(result))
        return
    done: dict[str, Callable[[dict[str, Any]], str]] = {
        "pause": lambda t: f"paused {key}; its history stays",
        "resume": lambda t: f"resumed {key}; status {t['status'].lower()}",
        "check": lambda t: f"{key} is due now; a worker checks it within moments",
    }
    print(done[action](result))


# -- showing ----------------------------------------------------------------------------------


def address(target: dict[str, Any]) -> str:
    if target.get("url"):
        return str(target["url"])
    if target.get("port") is not None:
        return f"{target['host']}:{target['port']}"
    return str(target.get("host") or "")


def show_list(found: list[dict[str, Any]], output: str) -> None:
    if output == "json":
        print(json.dumps(found, indent=2))
        return
    if not found:
        print("no targets yet; add them in /ui or through the GraphQL API")
        return
    rows = [("KEY", "NAME", "KIND", "STATUS", "EVERY", "ADDRESS")]
    rows += [
        (
            t["key"],
            t["name"],
            t["kind"].lower(),
            t["status"].lower(),
            f"{t['intervalSeconds']}s",
            address(t),
        )
        for t in found
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())


def show_target(target: dict[str, Any], output: str) -> None:
    if output == "json":
        print(json.dumps(target, indent=2))
        return
    status = target["status"].lower()
    if target.get("statusChangedAt"):
        status += f" since {target['statusChangedAt']}"
    lines = [
        ("key", target["key"]),
        ("name", target["name"]),
        ("kind", target["kind"].lower()),
        ("status", status),
        ("address", address(target)),
        ("interval", f"{target['intervalSeconds']} s (timeout {target['timeoutSeconds']:g} s)"),
        (
            "thresholds",
            f"down after {target['failureThreshold']} failed checks, up after "
            f"{target['recoveryThreshold']} passing",
        ),
        ("last check", last_check(target.get("lastCheck"))),
        ("uptime 24h", uptime(target.get("uptime"))),
        ("created", target["createdAt"]),
        ("id", target["id"]),
    ]
    width = max(len(name) for name, _ in lines)
    for name, value in lines:
        print(f"{name.ljust(width)}  {value}")


def last_check(check: dict[str, Any] | None) -> str:
    if not check:
        return "none yet"
    text = f"{check['status'].lower()} at {check['finishedAt']}"
    if check.get("latencyMs") is not None:
        text += f", {check['latencyMs']:.1f} ms"
    if check.get("httpStatus") is not None:
        text += f", HTTP {check['httpStatus']}"
    if check.get("message"):
        text += f": {check['message']}"
    return text


def uptime(figures: dict[str, Any] | None) -> str:
    if not figures or figures.get("ratio") is None:
        return "no checks yet"
    return (
        f"{figures['ratio'] * 100:.2f}% of {figures['checks']} checks "
        f"({figures['failures']} failed)"
    )
