"""The bundle format: its name, version, the frozen JSON Schema files and ``validate``.

Each released schema is a frozen file ``bundle.v<MAJOR>.schema.json`` covering
every minor version of that major (minor versions only add). ``validate`` needs
the optional ``jsonschema`` package; the runtime never requires it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

from ..errors import FormatError, VersionError

FORMAT_NAME = "rnnconvert.bundle"
FORMAT_VERSION = "1.0.0"
#: Every major version this code can read.
SUPPORTED_MAJORS = (1,)


def parse_version(text: Any) -> tuple[int, int, int]:
    """``"1.2.3" -> (1, 2, 3)``; anything else is a :class:`FormatError`."""
    parts = text.split(".") if isinstance(text, str) else []
    if len(parts) != 3 or not all(p.isdigit() and len(p) < 6 for p in parts):
        raise FormatError(f"format_version must look like '1.0.0', got {text!r}")
    major, minor, patch = (int(p) for p in parts)
    return major, minor, patch


def check_version(text: Any) -> tuple[int, int, int]:
    """Refuse a bundle whose major version this code cannot read."""
    version = parse_version(text)
    ours = parse_version(FORMAT_VERSION)
    if version[0] > ours[0]:
        raise VersionError(
            f"bundle format {text}; this runtime reads <= {ours[0]}.x (format {FORMAT_VERSION}): upgrade rnnconvert"
        )
    if version[0] not in SUPPORTED_MAJORS:
        raise VersionError(f"bundle format {text} is no longer supported; this runtime reads {FORMAT_VERSION}")
    return version


Migration = Callable[[dict[str, Any]], dict[str, Any]]
#: One-step migrations: MIGRATIONS[(major, minor)] turns a bundle of that version into
#: the next version it is migrated to (returning the new document with its new
#: ``format_version``). Format 1.0.0 is the first release, so none exist yet; a minor
#: version only adds, so an older 1.x document needs one only if a field changed meaning.
MIGRATIONS: dict[tuple[int, int], Migration] = {}


def migrate(doc: dict[str, Any]) -> dict[str, Any]:
    """Bring an older bundle document up to this code's version, one step at a time."""
    current = parse_version(FORMAT_VERSION)
    version = check_version(doc.get("format_version"))
    steps = 0
    while version[:2] < current[:2] and version[:2] in MIGRATIONS:
        doc = MIGRATIONS[version[:2]](doc)
        new = check_version(doc.get("format_version"))
        if new <= version or steps > 100:
            raise FormatError(f"migration from {version} did not advance the format version")
        version, steps = new, steps + 1
    return doc


@cache
def load_schema(major: int = 1) -> dict[str, Any]:
    """The frozen JSON Schema (draft 2020-12) for format ``major``.x."""
    name = f"bundle.v{major}.schema.json"
    try:
        text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VersionError(f"no schema for format major version {major}") from None
    return json.loads(text)


def validate(doc: Any) -> None:
    """Validate a parsed ``model.json`` against the schema of its major version.

    Raises :class:`FormatError` naming the first offending field.

    Example:
        >>> import json
        >>> from rnnconvert.schema import validate
        >>> validate(json.load(open("out/model.json")))  # doctest: +SKIP
    """
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - jsonschema is a converter dependency
        raise FormatError("schema validation needs the 'jsonschema' package (pip install jsonschema)") from None
    if not isinstance(doc, dict):
        raise FormatError("model.json must hold a JSON object")
    major = check_version(doc.get("format_version"))[0]
    validator = jsonschema.Draft202012Validator(load_schema(major))
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise FormatError(f"model.json does not follow the bundle schema at {where}: {error.message[:300]}")


__all__ = [
    "MIGRATIONS",
    "migrate",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "SUPPORTED_MAJORS",
    "parse_version",
    "check_version",
    "load_schema",
    "validate",
]
