"""Writing a bundle directory atomically and deterministically.

The bundle is built in a temporary sibling directory and renamed into place,
so a failure at any point leaves either no target or the previous bundle
intact, and no temporary files behind. Sorted JSON keys, sorted NPZ members
and fixed zip timestamps make the same model give byte-identical bundles.

"Refuse unless --force" holds against concurrent conversions: the final rename
never replaces a bundle that appeared meanwhile (Linux ``renameat2(RENAME_NOREPLACE)``;
elsewhere POSIX ``rename``, which refuses a non-empty directory), and ``--force``
swaps old and new in one step (``RENAME_EXCHANGE``) where the kernel offers it.
Every OS error on the output path is an :class:`OutputError` naming it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import OutputError
from ..runtime.bundle import MODEL_JSON, npz_layout

WEIGHTS_NPZ = "weights.npz"


def check_target(out_dir: str | os.PathLike[str], force: bool, keep: Iterable[Any] = ()) -> Path:
    """Refuse early (before any conversion work) a target we may not replace.

    ``keep``: the input files; an OUT_DIR that holds one of them is never replaced.
    """
    out = Path(out_dir)
    try:
        if out.is_symlink():
            raise OutputError(f"{out}: is a symbolic link; refusing to replace it")
        if out.exists() and not out.is_dir():
            raise OutputError(f"{out}: exists and is not a directory")
        if out.is_dir() and any(out.iterdir()):
            if not force:
                raise OutputError(f"{out}: directory exists and is not empty (use --force to replace it)")
            target = out.resolve()
            for k in keep:
                if k is not None and isinstance(k, (str, os.PathLike)) and _overlaps(target, Path(k).resolve()):
                    raise OutputError(f"{out}: holds the input {k}; refusing to replace it")
        parent = out.absolute().parent
        if parent.exists() and not parent.is_dir():
            raise OutputError(f"{out}: its parent {parent} is not a directory")
    except OSError as exc:
        raise _os_error(out, exc) from None
    return out


def _overlaps(target: Path, source: Path) -> bool:
    """Replacing ``target`` would destroy ``source``: it is the input (a SavedModel folder), holds
    it, or lies inside an input folder."""
    return target == source or target in source.parents or (source.is_dir() and source in target.parents)


def _os_error(out: Path, exc: OSError) -> OutputError:
    return OutputError(f"{out}: cannot write the bundle ({exc.strerror or exc})")


_NOREPLACE, _EXCHANGE, _AT_FDCWD = 1, 2, -100


@functools.lru_cache(maxsize=1)
def _renameat2() -> Any:
    try:
        fn = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).renameat2
    except (OSError, AttributeError):  # not Linux, or a libc older than glibc 2.28
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _rename2(src: Path, dst: Path, flags: int) -> bool:
    """``renameat2``; False when the system or file system does not offer it."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(dst))


def _raced(out: Path) -> OutputError:
    return OutputError(f"{out}: a bundle appeared there while converting; not replaced (use --force to replace it)")


def _place_new(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out`` unless something non-empty is there by now."""
    try:
        if out.is_dir() and not out.is_symlink():
            os.rmdir(out)  # an empty target may be taken; fails if someone filled it meanwhile
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
            raise
    try:
        if not _rename2(tmp, out, _NOREPLACE):
            os.rename(tmp, out)  # POSIX: refuses a non-empty directory; Windows: any existing target
    except (FileExistsError, IsADirectoryError, NotADirectoryError) as exc:
        raise _raced(out) from exc
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise _raced(out) from None
        raise


def _place_replacing(tmp: Path, out: Path, parent: Path) -> None:
    """``--force``: swap in one step where possible; ``tmp`` then holds the old bundle."""
    if not os.path.lexists(out):
        try:
            _place_new(tmp, out)
            return
        except OutputError:
            pass  # appeared meanwhile: replace it, as asked
    if out.is_symlink() or not out.is_dir():
        raise OutputError(f"{out}: is not a bundle directory; refusing to replace it")
    if _rename2(tmp, out, _EXCHANGE):
        shutil.rmtree(tmp, ignore_errors=True)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
    os.rmdir(old)
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if not out.exists():
            os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def dumps(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def write_bundle(
    doc: dict[str, Any],
    arrays: dict[str, np.ndarray],
    out_dir: str | os.PathLike[str],
    *,
    force: bool,
    quantization: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """Write ``model.json`` + ``weights.npz`` to ``out_dir``; fills in ``doc['weights']``.

    ``doc['weights']['arrays']`` and ``sha256`` are computed here from ``arrays``;
    ``quantization`` adds the entry of each array stored in reduced precision (quantize.py).
    """
    quantization = quantization or {}
    out = check_target(out_dir, force)
    payload, layout = npz_layout(arrays)
    doc["weights"] = {
        "file": WEIGHTS_NPZ,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "arrays": {
            k: {
                "shape": list(a.shape),
                "dtype": str(a.dtype),
                "offset": layout[k][0],  # where the data lies in weights.npz: any reader may slice it
                "nbytes": layout[k][1],
                **({"quantization": quantization[k]} if k in quantization else {}),
            }
            for k, a in sorted(arrays.items())
        },
    }
    from ..schema import required_version, validate

    # The oldest version that can read it, so older runtimes of this major load it (FORMAT.md 6.1).
    doc["format_version"] = required_version(doc)
    validate(doc)  # the converter never writes a bundle that breaks its own schema
    text = dumps(doc)
    try:
        parent = out.absolute().parent
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name[:64]}.tmp-", dir=parent))
    except OSError as exc:
        raise _os_error(out, exc) from None
    try:
        _write_file(tmp / WEIGHTS_NPZ, payload)
        _write_file(tmp / MODEL_JSON, text)
        os.chmod(tmp, 0o755)
        if force:
            _place_replacing(tmp, out, parent)
        else:
            _place_new(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _os_error(out, exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
