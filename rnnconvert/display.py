"""Text from files, made safe and short for a terminal: one helper for every message.

Layer, node, input and file names come from files the user did not write. A newline in
one would split the CLI's one-line error in two; an ANSI escape would recolour or rewrite
the terminal; a lone surrogate (valid in JSON) would make ``print`` itself fail.
:func:`printable` escapes all of them. Standard library only: the runtime uses it too.

Example:
    >>> printable("lstm\\n\\x1b[2J")
    'lstm\\\\n\\\\x1b[2J'
"""

from __future__ import annotations

from collections.abc import Iterable

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    cp = ord(ch)
    if cp < 0x100:
        return f"\\x{cp:02x}"
    return f"\\u{cp:04x}" if cp < 0x10000 else f"\\U{cp:08x}"


def printable(text: object) -> str:
    """``str(text)`` with every character a terminal would act on escaped, Python-style.

    Escaped: control characters (newlines, tabs, ESC and the rest of C0/C1, DEL), format
    characters (bidirectional overrides, zero-width marks), line/paragraph separators,
    lone surrogates, unassigned and private-use code points -- whatever
    ``str.isprintable`` rejects. Other text, non-ASCII letters included, is kept.
    """
    s = str(text)
    if s.isprintable():
        return s
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in s)


def format_shape(shape: Iterable[int | None]) -> str:
    """``(None, 32, 8)``: a shape as Keras prints it, ``None`` for a free dimension."""
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


__all__ = ["printable", "format_shape"]
