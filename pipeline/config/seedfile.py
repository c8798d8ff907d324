"""Load a YAML seed file into a pydantic model; errors name file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from pipeline.errors import SeedError

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]


def _construct(node: yaml.Node, path: Loc, lines: dict[Loc, int], file: str) -> Any:
    """Turn a composed YAML node into Python data, recording each path's line."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _plain(key_node)
            if key in out:
                raise SeedError(file, key_node.start_mark.line + 1, str(key), "duplicate key")
            out[key] = _construct(value_node, (*path, key), lines, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, (*path, i), lines, file) for i, v in enumerate(node.value)]
    return _plain(node)


def _plain(node: yaml.Node) -> Any:
    """A scalar (or key) node as Python data, read the way ``yaml.safe_load`` reads it.

    Built by a SafeLoader directly: re-serialising the node and parsing the text again fails on
    an empty value (``description:`` with nothing after it), which must become a SeedError.
    """
    return yaml.SafeLoader("").construct_object(node, deep=True)


# libyaml composes seed files about eight times faster than the pure-Python parser (every
# command and Airflow task loads them), with the same nodes and line marks.
_FAST_LOADER: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)


def _compose(text: str) -> yaml.Node | None:
    """The YAML node tree; a syntax error is raised by the pure-Python parser, whose messages
    say more ("mapping values are not allowed here") than libyaml's."""
    if _FAST_LOADER is None:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    try:
        return yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        return yaml.compose(text, Loader=yaml.SafeLoader)  # raises it again, better worded


def load_yaml(path: Path) -> tuple[Any, dict[Loc, int]]:
    """Parse YAML safely; return the data and a map from key path to line number."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SeedError(file, None, "file", "not found; create it or fix the path") from None
    except UnicodeDecodeError as exc:
        raise SeedError(file, None, "file", f"not UTF-8 ({exc.reason}); save as UTF-8") from None
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise SeedError(file, line, "yaml", f"{exc.problem or exc}; fix the YAML syntax") from None
    lines: dict[Loc, int] = {}
    if node is None:
        return None, lines
    return _construct(node, (), lines, file), lines


def line_for(loc: Loc, lines: dict[Loc, int]) -> int | None:
    """The line of the longest known prefix of ``loc``."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def field_name(loc: Loc) -> str:
    """Render a pydantic location as ``sources[2].discovery[0].url``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validate(model: type[M], data: Any, lines: dict[Loc, int], file: str) -> M:
    """Validate ``data``; the first error becomes a SeedError with its line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        # Drop pydantic's union/tagged-union branch labels from the location.
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling against the README)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise SeedError(file, line_for(loc, lines), field_name(loc), msg + more) from None


def load_model(path: Path, model: type[M]) -> M:
    """Load and validate a seed file in one step."""
    data, lines = load_yaml(path)
    return validate(model, data, lines, str(path))
