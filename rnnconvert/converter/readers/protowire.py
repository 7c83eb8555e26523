"""A bounded decoder of the protobuf wire format, for the few messages a SavedModel folder holds.

Only what :mod:`.savedmodel` reads is decoded: ``keras_metadata.pb`` (SavedMetadata), the
TensorBundle's BundleHeaderProto / BundleEntryProto / TensorShapeProto, and the checkpoint's
TrackableObjectGraph. Their field numbers are written where they are read; no ``.proto`` file or
generated code is involved, and nothing is decoded beyond the fields asked for.

Every length is checked against the bytes that hold it, varints are at most 10 bytes, groups
(wire types 3 and 4, deprecated) are refused, and a nested message is decoded only when a
caller asks for it, so the depth is fixed by the reader, never by the file.

Example:
    >>> fields(b"\\x08\\x96\\x01\\x12\\x02hi", "x")
    {1: [150], 2: [b'hi']}
"""

from __future__ import annotations

from ...errors import FormatError

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5
MAX_FIELDS = 1 << 22  # entries in one message; a bound on the work a hostile file causes


def varint(buf: bytes | memoryview, pos: int, where: str) -> tuple[int, int]:
    """The unsigned varint at ``pos`` and the position after it."""
    result = shift = 0
    end = min(len(buf), pos + 10)
    while pos < end:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
    raise FormatError(f"{where}: truncated or overlong varint")


def fields(buf: bytes | memoryview, where: str) -> dict[int, list[int | bytes]]:
    """Every field of one message: number -> values in file order (ints, or bytes for
    length-delimited fields: strings, bytes, nested messages and packed arrays)."""
    out: dict[int, list[int | bytes]] = {}
    pos, n, count = 0, len(buf), 0
    while pos < n:
        key, pos = varint(buf, pos, where)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise FormatError(f"{where}: protobuf field number 0")
        value: int | bytes
        if wire == VARINT:
            value, pos = varint(buf, pos, where)
        elif wire == LEN:
            size, pos = varint(buf, pos, where)
            if size > n - pos:
                raise FormatError(f"{where}: field {number} declares {size} bytes, {n - pos} are left")
            value, pos = bytes(buf[pos : pos + size]), pos + size
        elif wire in (FIXED32, FIXED64):
            width = 4 if wire == FIXED32 else 8
            if pos + width > n:
                raise FormatError(f"{where}: truncated fixed-width field {number}")
            value, pos = int.from_bytes(buf[pos : pos + width], "little"), pos + width
        else:
            raise FormatError(f"{where}: protobuf wire type {wire} (field {number}) is not read")
        out.setdefault(number, []).append(value)
        count += 1
        if count > MAX_FIELDS:
            raise FormatError(f"{where}: more than {MAX_FIELDS} protobuf fields in one message")
    return out


def one(msg: dict[int, list[int | bytes]], number: int, kind: type, where: str, default=None):
    """The last value of field ``number`` (protobuf's rule for a repeated scalar), checked to be
    ``kind`` (``int`` or ``bytes``)."""
    values = msg.get(number)
    if not values:
        return default
    value = values[-1]
    if not isinstance(value, kind):
        raise FormatError(f"{where}: field {number} has the wrong wire type")
    return value


def many(msg: dict[int, list[int | bytes]], number: int, where: str) -> list[bytes]:
    """The values of a repeated message/string field ``number``."""
    values = msg.get(number, [])
    if not all(isinstance(v, bytes) for v in values):
        raise FormatError(f"{where}: field {number} has the wrong wire type")
    return values  # type: ignore[return-value]


def text(msg: dict[int, list[int | bytes]], number: int, where: str) -> str:
    """A string field (``""`` when absent), which must be UTF-8."""
    raw = one(msg, number, bytes, where, b"")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{where}: field {number} is not UTF-8 text") from None


def signed(value: int) -> int:
    """An int64 read as a varint (negative numbers are ten-byte two's complement)."""
    return value - (1 << 64) if value >= 1 << 63 else value


__all__ = ["fields", "one", "many", "text", "signed", "varint"]
