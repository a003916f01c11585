"""One parser for every YAML config (datasets, training, model options): mappings into dataclasses.

``build(cls, mapping)`` checks the keys against the dataclass's fields and converts each value to
its annotated type, so a dataset config and a training config read ``true``, ``"yes"``, ``3`` or
``1,2,3`` the same way:

- a nested dataclass needs a mapping; ``dict[str, T]`` a mapping whose values become ``T``;
- ``list[T]`` / ``tuple[T, ...]``: a YAML list, or a comma-separated string (``--set bands=1,2,3``);
- ``bool``: true / false, or the strings true, false, yes, no, 1, 0;
- ``int``: a whole number (``3``, ``"3"``; ``3.5`` is refused, never truncated); ``float``: any number;
- ``X | None``: ``null`` or an ``X``.

Every mistake is a one-line ``ConfigError`` naming the key (``model.options.pool_size must be int``).
``apply_override`` applies ``key.sub=value`` (the value read as YAML) to a mapping, and
``read_mapping`` reads a YAML file that must hold a mapping.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

from geocolor.errors import ConfigError

TRUE, FALSE = ("true", "yes", "1"), ("false", "no", "0")


def coerce(tp: Any, value: Any, where: str) -> Any:
    """``value`` as type ``tp`` (see module docstring); ``where`` names it in errors."""
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping, got {value!r}")
        return build(typing.cast(type, tp), value, where)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return coerce(inner[0], value, where)
    if origin in (list, tuple):
        items = value if isinstance(value, list | tuple) else str(value).split(",") if isinstance(value, str | int | float) else None
        if items is None:
            raise ConfigError(f"{where} must be a list, got {value!r}")
        variadic = origin is list or (len(args) == 2 and args[1] is Ellipsis)
        if not variadic and len(items) != len(args):
            raise ConfigError(f"{where} must have {len(args)} values, got {value!r}")
        kinds = [args[0]] * len(items) if variadic else list(args)
        coerced = [coerce(k, v, f"{where}[{i}]") for i, (k, v) in enumerate(zip(kinds, items))]
        return coerced if origin is list else tuple(coerced)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping, got {value!r}")
        return {str(k): coerce(args[1], v, f"{where}.{k}") for k, v in value.items()} if args else dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
            return value.strip().lower() in TRUE
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ConfigError(f"{where} must be int, got {value!r}")
        try:
            return int(value) if isinstance(value, int | float) else int(str(value).strip())
        except (TypeError, ValueError):
            raise ConfigError(f"{where} must be int, got {value!r}") from None
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{where} must be float, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} must be float, got {value!r}") from None
    if tp is str:
        if isinstance(value, dict | list):
            raise ConfigError(f"{where} must be str, got {value!r}")
        return str(value)
    return value


def build(cls: type, data: dict[str, Any], where: str = "", root: str = "config") -> Any:
    """An instance of dataclass ``cls`` from ``data``; unknown keys and wrong types are ``ConfigError``."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(map(str, unknown))} in {where or root}; valid: {', '.join(sorted(names))}")
    return cls(**{k: coerce(hints[k], v, f"{where}.{k}".lstrip(".")) for k, v in data.items()})


def apply_override(tree: dict[str, Any], override: str) -> None:
    """Set ``key.sub=value`` in ``tree`` (the value read as YAML), creating sections on the way."""
    import yaml

    if "=" not in override:
        raise ConfigError(f"override {override!r} must look like key.sub=value")
    key, raw = override.split("=", 1)
    node = tree
    parts = key.strip().split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {override!r}: {p} is not a section")
    try:
        node[parts[-1]] = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise ConfigError(f"override {override!r}: the value is not valid YAML") from None


def read_mapping(path: str | Path, what: str = "config") -> dict[str, Any]:
    """The mapping in a YAML file (a pipeline's ``stage:`` key dropped); one-line errors."""
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read {what} {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a text file") from None
    try:
        tree = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level")
    tree.pop("stage", None)
    return tree
