"""rnnconvert: Keras recurrent models to a portable JSON + NPZ bundle, and a NumPy runtime.

The package has three rooms: :mod:`rnnconvert.schema` (the bundle format),
:mod:`rnnconvert.converter` (Keras files to bundles; needs h5py, never TensorFlow)
and :mod:`rnnconvert.runtime` (bundles to predictions; needs NumPy only).
"""

from __future__ import annotations

from .errors import (
    FormatError,
    InputError,
    OutputError,
    ResourceError,
    RnnConvertError,
    SecurityError,
    UnsupportedError,
    VersionError,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "RnnConvertError",
    "FormatError",
    "VersionError",
    "UnsupportedError",
    "SecurityError",
    "InputError",
    "ResourceError",
    "OutputError",
]
