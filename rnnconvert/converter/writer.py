"""Writing a bundle directory atomically and deterministically.

The bundle is built in a temporary sibling directory and renamed into place,
so a failure at any point leaves either no target or the previous bundle
intact, and no temporary files behind. Sorted JSON keys, sorted NPZ members
and fixed zip timestamps make the same model give byte-identical bundles.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import OutputError
from ..runtime.bundle import MODEL_JSON, npz_layout

WEIGHTS_NPZ = "weights.npz"


def check_target(out_dir: str | os.PathLike[str], force: bool) -> Path:
    """Refuse early (before any conversion work) a target we may not replace."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputError(f"{out}: directory exists and is not empty (use --force to replace it)")
    if out.is_symlink():
        raise OutputError(f"{out}: is a symbolic link; refusing to replace it")
    return out


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
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    old: Path | None = None
    try:
        (tmp / WEIGHTS_NPZ).write_bytes(payload)
        (tmp / MODEL_JSON).write_bytes(text)
        os.chmod(tmp, 0o755)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            os.rmdir(old)
            os.replace(out, old)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and old.exists() and not out.exists():
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out
