"""The rnnconvert runtime: load a bundle and predict, with NumPy and the standard library only.

Example:
    >>> from rnnconvert.runtime import load
    >>> model = load("out/")            # doctest: +SKIP
    >>> y = model.predict(x)            # doctest: +SKIP
"""

from __future__ import annotations

from .model import Model, TensorInfo, load
from .preprocessing import pad_sequences

__all__ = ["load", "Model", "TensorInfo", "pad_sequences"]
