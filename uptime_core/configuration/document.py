"""A configuration document read into the core's validated fields, or every problem with it.

``parse_document`` takes the data of one file (YAML or JSON, already parsed by the caller),
``parse_documents`` several files read as one (``uptime apply -f a.yaml -f b.yaml``): keys are
unique per kind across all of them, and a channel or window may name a target of another
file. Either returns a ``Document`` or raises one ``InvalidFields`` naming every problem at
its path (``paths.py``): unknown fields, wrong types, a missing ``${NAME}`` variable, values
the core refuses (the very checks the API applies), keys given twice (both places named) and
targets named but not defined. Nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel

from uptime_core.alerting.channels import (
    ChannelFields,
    check_channel_fields,
    validate_channel_config,
)
from uptime_core.configuration.models import WEEKDAYS, ChannelSpec, Spec, TargetSpec, WindowSpec
from uptime_core.configuration.paths import located, parts_of, problem, spelled
from uptime_core.configuration.secrets import substitute
from uptime_core.maintenance import MaintenanceFields, check_maintenance_fields
from uptime_core.targets import TargetFields, validate
from uptime_core.validation import FieldError, InvalidFields


@dataclass(frozen=True)
class TargetEntry:
    """A target of the document: its fields as ``targets.validate`` returns them (key set)."""

    key: str
    fields: TargetFields
    where: str  # "monitors.yaml: targets[3]"


@dataclass(frozen=True)
class ChannelEntry:
    """A channel: its fields (``target_ids`` empty) and the keys of the targets it watches."""

    key: str
    fields: ChannelFields
    target_keys: tuple[str, ...]
    where: str


@dataclass(frozen=True)
class WindowEntry:
    """A maintenance window: its fields (``target_id`` None) and its target's key, if any."""

    key: str
    fields: MaintenanceFields
    target_key: str | None
    where: str


@dataclass(frozen=True)
class Document:
    """Everything the files describe, valid, in the order given (file by file)."""

    targets: tuple[TargetEntry, ...] = ()
    channels: tuple[ChannelEntry, ...] = ()
    maintenance_windows: tuple[WindowEntry, ...] = ()


# The top-level fields and the kind of object each lists.
_SECTIONS = {
    "targets": "targets",
    "channels": "channels",
    "maintenance_windows": "maintenance_windows",
    "maintenanceWindows": "maintenance_windows",
}
_KINDS = {"targets": "target", "channels": "channel", "maintenance_windows": "window"}


@dataclass
class _Reading:
    """What reading the files has found so far."""

    errors: list[FieldError] = field(default_factory=list)
    targets: list[TargetEntry] = field(default_factory=list)
    channels: list[ChannelEntry] = field(default_factory=list)
    windows: list[WindowEntry] = field(default_factory=list)
    # (kind, key, where) of every object with a text key, valid or not.
    keys: list[tuple[str, str, str]] = field(default_factory=list)
    # (target key, path) of every reference to a target.
    references: list[tuple[str, str]] = field(default_factory=list)
    # The paths of ``${NAME}`` values whose variable is not set: only that is said of them.
    unset: list[FieldError] = field(default_factory=list)


class _File:
    """One file's data (secrets substituted) and how to name places in it."""

    def __init__(self, source: str | None, raw: dict[str, Any], reading: _Reading) -> None:
        self.source, self.raw, self.reading = source, raw, reading

    def add(self, parts: Sequence[str | int], message: str) -> None:
        self.reading.errors.append(problem(self.source, self.raw, parts, message))

    def path(self, parts: Sequence[str | int]) -> str:
        return located(self.source, spelled(self.raw, parts))

    def add_core(
        self,
        prefix: Sequence[str | int],
        error: InvalidFields,
        rename: Callable[[list[str | int]], list[str | int]],
    ) -> None:
        """The core's problems (fields as the API names them) at their place in the file."""
        for found in error.errors:
            self.add([*prefix, *rename(parts_of(found.field))], found.message)


def parse_document(data: object, environ: Mapping[str, str], source: str | None = None) -> Document:
    """The document in ``data`` (``source``: its file name, put before every path), with
    ``${NAME}`` values read from ``environ``; raises ``InvalidFields`` naming every problem."""
    return parse_documents([(source, data)], environ)


def parse_documents(
    files: Sequence[tuple[str | None, object]], environ: Mapping[str, str]
) -> Document:
    """Several files read as one document (each ``(file name, data)``); raises
    ``InvalidFields`` naming every problem of every file, a key defined twice included."""
    reading = _Reading()
    for source, data in files:
        _read_file(source, data, environ, reading)
    _check_keys(reading)
    if reading.errors:
        # A value left as ``${NAME}`` is also refused by the checks of what it stands for.
        unset = {e.field for e in reading.unset}
        raise InvalidFields(
            [e for e in reading.errors if e.field not in unset or e in reading.unset]
        )
    return Document(tuple(reading.targets), tuple(reading.channels), tuple(reading.windows))


def _read_file(
    source: str | None, data: object, environ: Mapping[str, str], reading: _Reading
) -> None:
    if data is None:
        return  # an empty file
    if not isinstance(data, dict):
        message = "must be an object with targets, channels and maintenanceWindows"
        reading.errors.append(FieldError(located(source, ""), message))
        return
    missing: list[FieldError] = []
    raw = substitute(data, environ, "", missing)
    assert isinstance(raw, dict)
    for unset in missing:
        found = FieldError(located(source, unset.field), unset.message)
        reading.unset.append(found)
        reading.errors.append(found)
    file = _File(source, raw, reading)
    seen: dict[str, str] = {}
    for name, items in raw.items():
        if name == "$schema":
            if not isinstance(items, str):
                file.add([name], "must be text (the schema's address)")
            continue
        section = _SECTIONS.get(name) if isinstance(name, str) else None
        if section is None:
            file.add([str(name)], "is not a known field (targets, channels, maintenanceWindows)")
            continue
        if section in seen:
            file.add([name], f"is given twice (also as {seen[section]})")
            continue
        seen[section] = name
        if items is None:
            continue
        if not isinstance(items, list):
            file.add([name], "must be a list")
            continue
        for index, item in enumerate(items):
            _read_object(file, name, section, index, item)


_MODELS: dict[str, type[Spec]] = {
    "targets": TargetSpec,
    "channels": ChannelSpec,
    "maintenance_windows": WindowSpec,
}


def _read_object(file: _File, name: str, section: str, index: int, item: object) -> None:
    prefix: list[str | int] = [name, index]
    key = item.get("key") if isinstance(item, dict) else None
    if isinstance(key, str):
        file.reading.keys.append((_KINDS[section], key, file.path(prefix)))
    try:
        spec = _MODELS[section].model_validate(item)
    except ValidationError as error:
        _add_shape_problems(file, prefix, item, error)
        return
    if isinstance(spec, TargetSpec):
        _target(file, prefix, spec)
    elif isinstance(spec, ChannelSpec):
        _channel(file, prefix, spec)
    elif isinstance(spec, WindowSpec):
        _window(file, prefix, spec)


def _add_shape_problems(
    file: _File, prefix: list[str | int], item: object, error: ValidationError
) -> None:
    for detail in error.errors(include_url=False):
        location = list(detail["loc"])
        kind = detail["type"]
        if kind == "extra_forbidden":
            message = "is not a known field"
            parent = _at(item, location[:-1])
            camel = to_camel(str(location[-1]))
            if isinstance(parent, dict) and camel != location[-1] and camel in parent:
                message = f"is given twice (also as {camel})"
        elif kind == "missing":
            message = "is required"
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            message = "must be an object"
        else:
            message = detail["msg"].removeprefix("Value error, ")
        file.add([*prefix, *location], message)


def _at(data: object, location: Sequence[str | int]) -> object:
    for part in location:
        if isinstance(part, int) and isinstance(data, list) and 0 <= part < len(data):
            data = data[part]
        elif isinstance(data, dict):
            data = data.get(part)
        else:
            return None
    return data


def _dump(model: BaseModel | None, *, by_alias: bool) -> dict[str, Any]:
    if model is None:
        return {}
    return model.model_dump(mode="json", by_alias=by_alias, exclude_none=True)


def _target(file: _File, prefix: list[str | int], spec: TargetSpec) -> None:
    kind = spec.kind.value
    settings = {"http": spec.http, "tcp": spec.tcp, "icmp": spec.icmp}
    errors_before = len(file.reading.errors)
    for other, value in settings.items():
        if other != kind and value is not None:
            file.add([*prefix, other], f"does not apply to a {kind} target")
    fields = TargetFields(
        name=spec.key if spec.name is None else spec.name,
        kind=kind,
        url=spec.url,
        host=spec.host,
        port=spec.port,
        interval_seconds=spec.interval_seconds,
        timeout_seconds=spec.timeout_seconds,
        failure_threshold=spec.failure_threshold,
        recovery_threshold=spec.recovery_threshold,
        retry_interval_seconds=spec.retry_interval_seconds,
        public=spec.public,
        options=_dump(settings[kind], by_alias=True),
        key=spec.key,
    )

    def rename(parts: list[str | int]) -> list[str | int]:
        return [kind, *parts[1:]] if parts[:1] == ["options"] else parts

    try:
        valid = validate(fields)
    except InvalidFields as error:
        file.add_core(prefix, error, rename)
        return
    if len(file.reading.errors) == errors_before:
        file.reading.targets.append(TargetEntry(spec.key, valid, file.path(prefix)))


def _channel(file: _File, prefix: list[str | int], spec: ChannelSpec) -> None:
    kind = spec.kind.value
    settings = {"webhook": spec.webhook, "slack": spec.slack, "email": spec.email}
    errors_before = len(file.reading.errors)
    for other, value in settings.items():
        if other != kind and value is not None:
            file.add([*prefix, other], f"does not apply to a {kind} channel")
    config: dict[str, Any] = {}
    try:
        config = validate_channel_config(spec.kind, _dump(settings[kind], by_alias=False))
    except InvalidFields as error:
        file.add_core(prefix, error, lambda parts: parts)
    fields = ChannelFields(
        name=spec.key if spec.name is None else spec.name,
        kind=spec.kind,
        config=config,
        all_targets=spec.all_targets,
        enabled=spec.enabled,
        reminder_interval_seconds=spec.reminder_interval_seconds,
        target_ids=[],
        key=spec.key,
    )
    try:
        # Placeholder ids: the check only asks whether targets are listed beside allTargets.
        check_channel_fields(replace(fields, target_ids=[0] * len(spec.targets)))
    except InvalidFields as error:
        file.add_core(prefix, error, lambda parts: ["targets"] if parts == ["targetIds"] else parts)
    for position, target in enumerate(spec.targets):
        file.reading.references.append((target, file.path([*prefix, "targets", position])))
    if len(file.reading.errors) == errors_before:
        keys = tuple(dict.fromkeys(spec.targets))
        file.reading.channels.append(ChannelEntry(spec.key, fields, keys, file.path(prefix)))


def _window(file: _File, prefix: list[str | int], spec: WindowSpec) -> None:
    fields = MaintenanceFields(
        name=spec.key if spec.name is None else spec.name,
        target_id=None,
        kind=spec.kind,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        weekdays=None if spec.weekdays is None else [WEEKDAYS.index(d) + 1 for d in spec.weekdays],
        local_start=spec.local_start,
        duration_seconds=spec.duration_seconds,
        time_zone=spec.time_zone,
        key=spec.key,
    )
    if spec.target is not None:
        file.reading.references.append((spec.target, file.path([*prefix, "target"])))
    try:
        valid = check_maintenance_fields(fields)
    except InvalidFields as error:
        file.add_core(prefix, error, lambda parts: parts)
        return
    file.reading.windows.append(WindowEntry(spec.key, valid, spec.target, file.path(prefix)))


def _check_keys(reading: _Reading) -> None:
    """Each key once per kind across every file; every target named is defined."""
    first: dict[tuple[str, str], str] = {}
    for kind, key, where in reading.keys:
        if (kind, key) in first:
            message = f'"{key}" is also the key of {first[kind, key]}'
            reading.errors.append(FieldError(f"{where}.key", message))
        else:
            first[kind, key] = where
    for key, where in reading.references:
        if ("target", key) not in first:
            reading.errors.append(FieldError(where, f'no target has the key "{key}"'))
