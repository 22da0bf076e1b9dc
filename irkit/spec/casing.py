"""The converters of the request field table (irkit.spec.request): file form <-> request form.

A :class:`Convert` is a pair: ``to_request(value)`` turns a spec value (a part such as ``Stairs``,
a tuple, a string) into what the request holds, and ``from_request(where, wire)`` turns that back
into the file form ``JobSpec.from_dict`` reads, raising SpecError naming ``where`` (the dotted
request path) when the request holds something irkit does not support. Casings are tuples of
``(file_key, RequestKey)`` pairs, so a part's request spelling is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from irkit.errors import SpecError
from irkit.spec.fields import as_list, as_mapping

Casing = Sequence[tuple[str, str]]

ENV_RANGES = "EnvironmentParameterRanges"
CATEGORICAL = "CategoricalParameterRanges"
SERVERLESS = "ServerlessConfig"
INSTANCE_TYPE = "InstanceType"


@dataclass(frozen=True)
class Convert:
    """How one field's value is written into the request and read back."""

    to_request: Callable[[Any], Any]
    from_request: Callable[[str, Any], Any]


PLAIN = Convert(lambda value: value, lambda where, wire: wire)
LIST = Convert(list, lambda where, wire: as_list(where, wire))


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def refuse_unknown(where: str, data: Any, allowed: Sequence[str]) -> Mapping[str, Any]:
    """``data`` as a mapping whose keys are all in ``allowed``; else SpecError naming the key."""
    mapping = as_mapping(where, data)
    for key in mapping:
        if key not in allowed:
            raise SpecError(f"{where}.{key}", "is not supported by irkit job specs")
    return mapping


def _record_to(casing: Casing, part: Any) -> dict[str, Any]:
    out = {}
    for file_key, request_key in casing:
        value = _get(part, file_key)
        if value is not None:
            out[request_key] = value
    return out


def _record_from(casing: Casing, where: str, wire: Any) -> dict[str, Any]:
    data = refuse_unknown(where, wire, [request_key for _, request_key in casing])
    return {file_key: data[request_key] for file_key, request_key in casing if request_key in data}


def record(casing: Casing) -> Convert:
    """One part (e.g. ``Stairs``) as one request structure; unset members are left out."""
    return Convert(lambda part: _record_to(casing, part),
                   lambda where, wire: _record_from(casing, where, wire))


def records(casing: Casing) -> Convert:
    """A tuple of parts (e.g. ``phases``) as a list of request structures."""
    return Convert(
        lambda parts: [_record_to(casing, p) for p in parts],
        lambda where, wire: [_record_from(casing, f"{where}[{i}]", item)
                             for i, item in enumerate(as_list(where, wire))],
    )


def wrapped(member: str) -> Convert:
    """A tuple of strings as ``[{member: value}, ...]`` (e.g. ``Endpoints[].EndpointName``)."""
    return Convert(
        lambda values: [{member: v} for v in values],
        lambda where, wire: [refuse_unknown(f"{where}[{i}]", item, (member,)).get(member)
                             for i, item in enumerate(as_list(where, wire))],
    )


# ---- EndpointConfigurations: filled by two spec keys, each reading back its own entries -------
def _ranges_to(ranges: Any) -> list[dict[str, Any]]:
    """One entry per instance type of each range, all carrying that range's env values."""
    out: list[dict[str, Any]] = []
    for hp_range in ranges:
        categorical = [{"Name": name, "Value": list(values)} for name, values in hp_range.environment.items()]
        for instance_type in hp_range.instance_types:
            entry: dict[str, Any] = {INSTANCE_TYPE: instance_type}
            if categorical:
                entry[ENV_RANGES] = {CATEGORICAL: [dict(c) for c in categorical]}
            out.append(entry)
    return out


def _ranges_from(where: str, wire: Any) -> list[dict[str, Any]]:
    """Group consecutive instance types that share env values back into one hyperparameter range."""
    ranges: list[dict[str, Any]] = []
    previous_env: dict[str, list[Any]] | None = None
    for i, item in enumerate(as_list(where, wire)):
        if isinstance(item, Mapping) and SERVERLESS in item:
            continue  # serverless_configs reads these
        entry = refuse_unknown(f"{where}[{i}]", item, (INSTANCE_TYPE, ENV_RANGES))
        env_where = f"{where}[{i}].{ENV_RANGES}"
        params = refuse_unknown(env_where, entry.get(ENV_RANGES) or {}, (CATEGORICAL,)).get(CATEGORICAL, ())
        env: dict[str, list[Any]] = {}
        for j, param in enumerate(as_list(f"{env_where}.{CATEGORICAL}", params)):
            param = refuse_unknown(f"{env_where}.{CATEGORICAL}[{j}]", param, ("Name", "Value"))
            env[str(param.get("Name"))] = list(as_list(f"{env_where}.{CATEGORICAL}[{j}].Value", param.get("Value")))
        if ranges and env == previous_env:
            ranges[-1]["instance_types"].append(entry.get(INSTANCE_TYPE))
        else:
            ranges.append({"instance_types": [entry.get(INSTANCE_TYPE)], **env})
        previous_env = env
    return ranges


def endpoint_configurations() -> Convert:
    """``hyperparameter_ranges`` as IR's EndpointConfigurations (instance type x env ranges)."""
    return Convert(_ranges_to, _ranges_from)


def serverless_configurations(casing: Casing) -> Convert:
    """``serverless_configs`` as EndpointConfigurations entries ``{"ServerlessConfig": {...}}``."""

    def read(where: str, wire: Any) -> list[dict[str, Any]]:
        out = []
        for i, item in enumerate(as_list(where, wire)):
            if isinstance(item, Mapping) and SERVERLESS in item:
                entry = refuse_unknown(f"{where}[{i}]", item, (SERVERLESS,))
                out.append(_record_from(casing, f"{where}[{i}].{SERVERLESS}", entry[SERVERLESS]))
        return out

    return Convert(lambda configs: [{SERVERLESS: _record_to(casing, c)} for c in configs], read)
