"""Reading a Dockerfile's instructions, stage by stage, for tests of what an image will be.

No image can be built where the tests run (no Docker engine), so the tests read the
Dockerfiles instead: the base images, the environment, the user, the command and the
HEALTHCHECK the built image will have.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Instruction:
    keyword: str
    arguments: str

    def exec_form(self) -> list[str]:
        """The JSON (exec) form of CMD, ENTRYPOINT or HEALTHCHECK ... CMD."""
        text = self.arguments
        if self.keyword == "HEALTHCHECK":
            text = text.split(" CMD ", 1)[1]
        value = json.loads(text)
        assert isinstance(value, list), f"{self.keyword} is not in exec form: {text}"
        return [str(item) for item in value]

    def pairs(self) -> dict[str, str]:
        """The ``key=value`` pairs of ENV, LABEL or ARG."""
        return dict(word.split("=", 1) for word in shlex.split(self.arguments) if "=" in word)


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None

    def env(self) -> dict[str, str]:
        """The environment the stage sets (``$PATH``-style references left as written)."""
        env: dict[str, str] = {}
        for instruction in self.all("ENV"):
            env.update(instruction.pairs())
        return env

    def args(self) -> dict[str, str]:
        args: dict[str, str] = {}
        for instruction in self.all("ARG"):
            args.update(instruction.pairs())
        return args

    def labels(self) -> dict[str, str]:
        """LABELs with ``${ARG}`` references replaced by the ARG defaults."""
        args = self.args()
        labels: dict[str, str] = {}
        for instruction in self.all("LABEL"):
            for key, value in instruction.pairs().items():
                labels[key] = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m[1], m[0]), value)
        return labels


@dataclass
class Dockerfile:
    path: Path
    stages: list[Stage]
    text: str

    @property
    def final(self) -> Stage:
        return self.stages[-1]


def parse(path: Path) -> Dockerfile:
    """A Dockerfile's stages; continuation lines joined, comments and directives dropped."""
    text = path.read_text()
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = arguments.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        else:
            stages[-1].instructions.append(Instruction(keyword, arguments.strip()))
    return Dockerfile(path=path, stages=stages, text=text)
