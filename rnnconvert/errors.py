"""The project's exception hierarchy.

Every failure the converter, the runtime or the CLI reports is an instance of
:class:`RnnConvertError`, so callers can catch one type; the subclasses say
which kind of problem it is. This module imports nothing but the standard
library so the runtime can use it.

Messages are escaped as they are made (:func:`rnnconvert.display.printable`): a name
from a file that holds a newline or a terminal escape cannot split a message in two
or act on the terminal, wherever the message is printed.
"""

from __future__ import annotations

from .display import printable


class RnnConvertError(Exception):
    """Base class of every error rnnconvert raises on purpose."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(printable(a) if isinstance(a, str) else a for a in args))


class FormatError(RnnConvertError, ValueError):
    """A file is not what it claims to be: not a Keras model, or a malformed bundle."""


class VersionError(RnnConvertError):
    """A bundle (or model file) of a version this code cannot read."""


class UnsupportedError(RnnConvertError):
    """Layers or options the converter does not support.

    ``problems`` lists every one found, as ``(layer name, class name, reason)``.
    """

    def __init__(self, problems: list[tuple[str, str, str]]):
        self.problems = list(problems)
        lines = [f"{name} ({cls}): {why}" for name, cls, why in self.problems]
        super().__init__(f"{len(lines)} unsupported layer(s)/option(s): " + "; ".join(lines))


class SecurityError(RnnConvertError):
    """Input that tries to run code or escape its directory (Lambda layers, path traversal...)."""


class InputError(RnnConvertError, ValueError):
    """Wrong input passed to ``predict``/``step``, or wrong arguments to the converter."""


class ResourceError(RnnConvertError):
    """An input, file or array larger than the configured bound."""


class OutputError(RnnConvertError):
    """The output directory cannot be written (exists and is not empty, no --force...)."""


class MissingDependencyError(RnnConvertError, ImportError):
    """An optional package a feature needs is not installed (h5py to convert, Keras for --verify).

    The message names the ``pip install`` command. It is an ``ImportError`` too.
    """


__all__ = [
    "RnnConvertError",
    "FormatError",
    "VersionError",
    "UnsupportedError",
    "SecurityError",
    "InputError",
    "ResourceError",
    "OutputError",
    "MissingDependencyError",
]
