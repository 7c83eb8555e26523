"""Optional dependencies: imported on first use, a missing one is a one-line error naming the pip command."""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import RnnConvertError

EXTRAS = {"pyarrow": "parquet", "pyarrow.parquet": "parquet", "dask": "dask", "distributed": "dask", "tqdm": "progress"}


class MissingExtraError(RnnConvertError, ImportError):
    """An optional dependency a feature needs is not installed."""


def require(module: str, what: str) -> ModuleType:
    """Import ``module`` or raise MissingExtraError saying which extra to install for ``what``.

    Example:
        >>> pq = require("pyarrow.parquet", "Parquet files")      # doctest: +SKIP
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = EXTRAS.get(module, EXTRAS.get(module.split(".")[0], ""))
        hint = f"pip install 'rnnconvert[{extra}]'" if extra else f"pip install {module.split('.')[0]}"
        raise MissingExtraError(f"{what} need {module.split('.')[0]}, which is not installed: {hint}") from None
