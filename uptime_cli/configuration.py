"""``uptime apply`` and ``uptime export``: monitors as code through a running API.

``apply`` reads the files (YAML or JSON), sends them with the values of the ``${NAME}``
variables they reference (from this process's environment; nothing else of it) to the
``applyConfiguration`` mutation, and prints the plan the server answers. The server checks and
applies the document in one transaction (uptime_core/configuration/apply.py). Exit codes: 0
applied or nothing to do, 1 invalid (every problem printed with its path) or any other error,
2 a dry run that would change something (a gate for CI).

``export`` asks for ``configurationDocument`` and writes it as YAML (JSON for a ``.json``
file), with the variables its secret references name listed on stderr: ``apply`` of an export
with those set changes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from uptime_cli.client import ApiError, api_arguments, client_for
from uptime_core.configuration.secrets import referenced
from uptime_core.runtime.settings import Settings

APPLY_TIMEOUT_SECONDS = 300.0  # a document of thousands of targets is one transaction
CHANGES = """changes { action kind key fields where }"""
APPLY = f"""mutation Apply($input: ApplyConfigurationInput!) {{
  applyConfiguration(input: $input) {{
    __typename
    ... on ConfigurationPlan {{ dryRun prune applied unchanged created updated deleted {CHANGES} }}
    ... on ValidationError {{ message field problems {{ field message }} }}
  }}
}}"""
EXPORT = "query Export { configurationDocument }"
_SIGNS = {"create": "+", "update": "~", "delete": "-"}
_KINDS = {"TARGET": "target", "CHANNEL": "channel", "MAINTENANCE_WINDOW": "maintenance window"}


def add_parsers(commands: Any) -> None:
    """``uptime apply`` and ``uptime export`` under the ``uptime`` parser's subcommands."""
    apply = commands.add_parser(
        "apply",
        parents=[api_arguments()],
        help="make the targets, channels and maintenance windows match configuration files",
        description="Make the targets, channels and maintenance windows match the files "
        "(docs/configuration.md), in one transaction, and print the plan. Exit 0 applied or "
        "nothing to do, 1 invalid, 2 a dry run that would change something.",
    )
    apply.add_argument(
        "-f",
        "--file",
        dest="files",
        action="append",
        required=True,
        metavar="FILE",
        help="a YAML or JSON document; several are read as one (- reads stdin)",
    )
    apply.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan and write nothing (exit 2 if it would change something)",
    )
    apply.add_argument(
        "--prune",
        action="store_true",
        help="also delete the targets, channels and windows the files do not name",
    )
    apply.add_argument(
        "-o", "--output", choices=("text", "json"), default="text", help="json for scripts"
    )
    export = commands.add_parser(
        "export",
        parents=[api_arguments()],
        help="write every target, channel and maintenance window as a configuration document",
        description="Write everything as a configuration document (secrets as ${NAME} "
        "references, listed on stderr); applying it with those set changes nothing.",
    )
    export.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="the file to write (JSON if it ends in .json, else YAML; default: stdout)",
    )


def run_apply(args: argparse.Namespace, settings: Settings) -> int:
    try:
        files = [read_file(name) for name in args.files]
    except ApiError as error:
        print(f"uptime: error: {error}", file=sys.stderr)
        return 1
    names = sorted({name for _, data in files for name in referenced(data)})
    environment = {name: os.environ[name] for name in names if name in os.environ}
    given = {
        "files": [{"name": name, "document": data} for name, data in files],
        "environment": environment,
        "dryRun": args.dry_run,
        "prune": args.prune,
    }
    try:
        with client_for(args, settings, APPLY_TIMEOUT_SECONDS) as client:
            result = client.execute(APPLY, {"input": given})["applyConfiguration"]
    except ApiError as error:
        print(f"uptime: error: {error}", file=sys.stderr)
        return 1
    if result["__typename"] == "ValidationError":
        problems = result["problems"] or [{"field": result["field"], "message": result["message"]}]
        if args.output == "json":
            print(json.dumps({"valid": False, "problems": problems}, indent=2))
        for problem in problems:
            where = f"{problem['field']}: " if problem.get("field") else ""
            print(f"uptime: invalid: {where}{problem['message']}", file=sys.stderr)
        print(f"uptime: nothing written ({len(problems)} problems)", file=sys.stderr)
        return 1
    result.pop("__typename")
    if args.output == "json":
        print(json.dumps(result, indent=2))
    else:
        print_plan(result)
    return 2 if result["dryRun"] and result["changes"] else 0


def read_file(name: str) -> tuple[str, Any]:
    """A file's name and data (YAML, which JSON also is); an ``ApiError`` that says what is
    wrong with it."""
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as error:
        raise ApiError(f"cannot read {name}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ApiError(f"{name} is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "is not YAML or JSON"
        raise ApiError(f"{name}{at}: {problem}") from None
    try:
        json.dumps(data)
    except (TypeError, ValueError):
        # Unquoted YAML dates and times come back as date objects: say which to quote.
        raise ApiError(
            f'{name}: quote dates and times ("2026-12-01T22:00:00Z", "22:00"): they must be text'
        ) from None
    return ("stdin" if name == "-" else name), data


def print_plan(plan: dict[str, Any]) -> None:
    for change in plan["changes"]:
        line = f"{_SIGNS[change['action'].lower()]} {_KINDS[change['kind']]} {change['key']}"
        if change["fields"]:
            line += f": {', '.join(change['fields'])}"
        print(line)
    summary = (
        f"{plan['created']} to create, {plan['updated']} to update, {plan['deleted']} to "
        f"delete, {plan['unchanged']} unchanged"
    )
    if plan["dryRun"]:
        outcome = "dry run: nothing written" if plan["changes"] else "nothing to do"
    else:
        outcome = "applied" if plan["applied"] else "nothing to do"
    print(f"{summary}; {outcome}.")


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with client_for(args, settings) as client:
            document = client.execute(EXPORT)["configurationDocument"]
    except ApiError as error:
        print(f"uptime: error: {error}", file=sys.stderr)
        return 1
    if args.output and args.output.endswith(".json"):
        text = json.dumps(document, indent=2) + "\n"
    else:
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as error:
            print(f"uptime: error: cannot write {args.output}: {error.strerror}", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    needed = sorted(referenced(document))
    if needed:
        print(
            "uptime: the secrets are written as references; set these variables for "
            f"`uptime apply`: {', '.join(needed)}",
            file=sys.stderr,
        )
    return 0
