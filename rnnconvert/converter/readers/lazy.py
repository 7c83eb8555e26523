"""A weight that is checked but not yet read: the interface both lazy readers share.

``shape`` and ``dtype`` are known (and checked against the layer's config) before a byte is
read; ``np.asarray`` -- or any array attribute -- reads the values once, through the
subclass's :meth:`LazyArray.read`, which applies that reader's bounds.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class LazyArray:
    """Subclasses set ``label``, ``where``, ``shape``, ``dtype`` and implement :meth:`read`."""

    __array_priority__ = 10.0
    label: str
    where: str
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d weight")
        return self.shape[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r}, shape={self.shape}, dtype={self.dtype})"

    def read(self) -> np.ndarray:
        raise NotImplementedError

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self.read()
        return a if dtype is None else a.astype(dtype, copy=False)

    def __getitem__(self, key: Any) -> Any:
        return self.read()[key]

    def __getattr__(self, name: str) -> Any:  # .T, .astype, .reshape ... act on the values
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.read(), name)


__all__ = ["LazyArray"]
