"""Jobs: one dataclass per stage holds its settings, and its command line is generated from it.

A stage's settings, defaults, help text and validation live in one dataclass (its "job"): the field's
default is the default, :func:`setting` metadata carries the help text and the argparse type, and
``__post_init__`` validates. :func:`add_arguments` turns the dataclass into argparse options
(``output_dir`` -> ``--output-dir``; ``bool`` fields with default ``False`` -> flags), :func:`from_args`
builds the job back from the parsed namespace, and the pipeline builds the same job from a profile and
calls the stage's ``run(job)``: a setting goes profile -> job -> library, never through an argv string.

A field declared with ``setting(nested=Cls)`` holds another settings dataclass (the trainer's
:class:`~pyserini_ckd.training.config.TrainConfig` inside the train job, PRF settings inside the labeller's
settings): its fields become options of the same command line, with ``prefix`` before their names.
:func:`check_values` checks a profile section against a settings dataclass (unknown keys, types) so the
pipeline can stop before any stage runs.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Type, TypeVar

from .errors import ConfigError

T = TypeVar("T")
_MISSING = dataclasses.MISSING


def positive_int(text: str) -> int:
    """argparse type: an integer > 0 (zero or negative counts, sizes and lengths are rejected)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _non_negative(cast: Callable[[str], T], what: str) -> Callable[[str], T]:
    """An argparse type: ``cast`` of the text, which must be >= 0."""
    def parse(text: str) -> T:
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < 0:  # type: ignore[operator]
            raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
        return value
    parse.__name__ = f"non_negative_{cast.__name__}"
    parse.__doc__ = f"argparse type: {what} >= 0."
    return parse


non_negative_int = _non_negative(int, "an integer")
non_negative_float = _non_negative(float, "a number")


def setting(default: Any = _MISSING, *, help: Optional[str] = None, type: Optional[Callable[[str], Any]] = None,
            choices: Optional[Sequence[str]] = None, flags: Optional[Sequence[str]] = None, nargs: Any = None,
            metavar: Any = None, group: Optional[str] = None, nested: Optional[type] = None, prefix: str = "",
            cli: bool = True, default_factory: Any = _MISSING) -> Any:
    """A dataclass field with its command-line description.

    ``type``: argparse's converter (default: from the default's Python type); ``flags``: the option strings
    (default ``--name-with-dashes``; a name without dashes makes the field positional); ``group``: the help section; ``nested``: the field holds that settings
    dataclass (its fields become options, named with ``prefix``); ``cli=False``: not on the command line.
    """
    metadata = {"help": help, "type": type, "choices": choices, "flags": flags, "nargs": nargs, "metavar": metavar,
                "group": group, "nested": nested, "prefix": prefix, "cli": cli}
    if nested is not None and default is _MISSING and default_factory is _MISSING:
        default_factory = nested
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _meta(f: dataclasses.Field) -> Dict[str, Any]:
    return {"help": None, "type": None, "choices": None, "flags": None, "nargs": None, "metavar": None, "group": None,
            "nested": None, "prefix": "", "cli": True, **dict(f.metadata)}


def _default(f: dataclasses.Field) -> Any:
    if f.default is not _MISSING:
        return f.default
    if f.default_factory is not _MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return _MISSING


def add_arguments(parser: argparse.ArgumentParser, cls: type, prefix: str = "",
                  overrides: Optional[Dict[str, Dict[str, Any]]] = None, section: Optional[str] = None) -> None:
    """Add an option for every field of the settings dataclass ``cls`` (and of its nested settings).

    ``overrides``: per field name, argparse keywords that differ on this command line (a default that
    means "decide from the other options", say). ``section``: only the fields of that group, added to
    ``parser`` itself (a command line in sections, like Pyserini's encoder's)."""
    groups: Dict[str, Any] = {}
    overrides = overrides or {}
    for f in dataclasses.fields(cls):
        m = _meta(f)
        if not m["cli"]:
            continue
        if m["nested"] is not None:
            add_arguments(parser, m["nested"], prefix + m["prefix"], overrides, section)
            continue
        if section is not None and m["group"] != section:
            continue
        dest = prefix + f.name
        target = parser
        if m["group"] and section is None:
            target = groups.setdefault(m["group"], parser.add_argument_group(m["group"]))
        flags = m["flags"] or ["--" + dest.replace("_", "-")]
        default = _default(f)
        kwargs: Dict[str, Any] = {"dest": dest, "help": m["help"]}
        if default is _MISSING:
            kwargs["required"] = True
        elif isinstance(default, bool) and m["type"] is None:
            kwargs["action"] = "store_true"
        if "action" not in kwargs:
            kwargs["type"] = m["type"] or _converter(default)
            if default is not _MISSING:
                kwargs["default"] = list(default) if isinstance(default, (list, tuple)) else default
            for key in ("choices", "nargs", "metavar"):
                if m[key] is not None:
                    kwargs[key] = list(m[key]) if key == "choices" else m[key]
        else:
            kwargs["default"] = default
        kwargs.update(overrides.get(f.name, {}))
        if kwargs.get("type") is None:
            kwargs.pop("type", None)
        if not flags[0].startswith("-"):  # a positional argument: argparse names it by its flag, required by nargs
            kwargs.pop("dest")
            kwargs.pop("required", None)
            flags = [dest]
        target.add_argument(*flags, **kwargs)


def _converter(default: Any) -> Optional[Callable[[str], Any]]:
    if isinstance(default, bool) or default is None or default is _MISSING:
        return None
    if isinstance(default, (int, float, Path)):
        return type(default)
    if isinstance(default, (list, tuple)) and default:
        return _converter(default[0])
    return None


def from_args(cls: Type[T], args: argparse.Namespace, prefix: str = "", **given: Any) -> T:
    """The settings dataclass ``cls`` from a namespace that :func:`add_arguments` filled (``given`` wins)."""
    values: Dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        m = _meta(f)
        if f.name in given:
            values[f.name] = given[f.name]
        elif m["nested"] is not None:
            values[f.name] = from_args(m["nested"], args, prefix + m["prefix"])
        elif m["cli"] and hasattr(args, prefix + f.name):
            values[f.name] = getattr(args, prefix + f.name)
    return cls(**values)  # type: ignore[call-arg]


def from_mapping(cls: Type[T], values: Dict[str, Any]) -> T:
    """The settings dataclass ``cls`` from a profile section (nested sections become nested settings);
    keys it does not name are an error (:func:`check_values` says which, with the section's name)."""
    check_values(cls, values, cls.__name__)
    return build(cls, values)


def build(cls: Type[T], values: Dict[str, Any]) -> T:
    """The settings dataclass ``cls`` from a section :func:`check_values` has checked; a nested section's
    own check (``__post_init__``) fails with the field's name before its message."""
    out: Dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in values:
            continue
        nested = _meta(f)["nested"]
        if nested is None:
            out[f.name] = values[f.name]
            continue
        try:
            out[f.name] = build(nested, values[f.name])
        except ConfigError as exc:
            raise ConfigError(f"{f.name}: {exc}") from None
    return cls(**out)  # type: ignore[call-arg]


def field_names(cls: type) -> List[str]:
    return [f.name for f in dataclasses.fields(cls)]


_SCALARS = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "Path": (str, Path)}


def _expected(annotation: Any) -> Optional[tuple]:
    """The Python types a JSON value may have for a field annotated ``annotation`` (None: not checked)."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    optional = text.startswith("Optional[")
    inner = text[len("Optional["):-1] if optional else text
    if inner not in _SCALARS:
        return None
    return _SCALARS[inner] + ((type(None),) if optional else ())


def check_values(cls: type, values: Dict[str, Any], where: str) -> None:
    """Raise :class:`ConfigError` for a key ``cls`` does not have or a value of the wrong JSON type.

    ``where`` names the section (``students``, ``labels.prf``) in the message."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(f"unknown setting {where}.{key}")
        nested = _meta(fields[key])["nested"]
        if nested is not None:
            if not isinstance(value, dict):
                raise ConfigError(f"{where}.{key} must be a section (a JSON object), got {value!r}")
            check_values(nested, value, f"{where}.{key}")
            continue
        expected = _expected(fields[key].type)
        if expected is None:
            continue
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):  # JSON true is no number
            raise ConfigError(f"{where}.{key} must be {_describe(expected)}, got {value!r}")


def _describe(types: tuple) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false", Path: "a path",
             type(None): "null"}
    if float in types:  # an integer is a number
        types = tuple(t for t in types if t is not int)
    return " or ".join(dict.fromkeys(names[t] for t in types))
