"""Run batches in this process or in N worker processes, results in submission order.

Each worker process loads the bundle once (the pool initializer) and then receives only
batches of inputs; at most ``2 * workers`` batches are in flight, so memory stays bounded
however long the input.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ..runtime import Model, load

_MODEL: Model | None = None  # the worker process's model, loaded once by _init
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _outputs(model: Model, arrays: list[np.ndarray]) -> list[np.ndarray]:
    y = model.predict(arrays if len(arrays) > 1 else arrays[0])
    return list(y) if isinstance(y, list) else [y]


_INIT_ERROR: BaseException | None = None


def _init(bundle: str, load_kwargs: dict[str, Any]) -> None:
    # An exception here would make the pool start worker after worker, forever: keep it and
    # raise it from the first batch instead, where the parent receives it.
    global _MODEL, _INIT_ERROR
    try:
        _MODEL = load(bundle, **load_kwargs)
    except Exception as exc:
        _INIT_ERROR = exc


def _predict(arrays: list[np.ndarray]) -> list[np.ndarray]:
    if _INIT_ERROR is not None:
        raise _INIT_ERROR
    assert _MODEL is not None, "worker used before its initializer ran"
    return _outputs(_MODEL, arrays)


class LocalExecutor:
    def __init__(self, model: Model):
        self.model = model

    def map(self, tasks: Iterable[tuple[Any, list[np.ndarray]]]) -> Iterator[tuple[Any, list[np.ndarray]]]:
        for meta, arrays in tasks:
            yield meta, _outputs(self.model, arrays)

    def close(self) -> None:
        pass


class PoolExecutor:
    """``workers`` processes (spawned: no state inherited from a parent that may hold threads)."""

    def __init__(self, bundle: str, workers: int, load_kwargs: dict[str, Any] | None = None):
        self.workers = workers
        ctx = multiprocessing.get_context("spawn")
        # One BLAS thread per worker unless the user said otherwise: N workers already fill N cores.
        saved = {v: os.environ.get(v) for v in _THREAD_VARS}
        per = str(max(1, (os.cpu_count() or 1) // workers))
        for v in _THREAD_VARS:
            os.environ.setdefault(v, per)
        try:
            self.pool = ctx.Pool(workers, initializer=_init, initargs=(bundle, load_kwargs or {}))
        finally:
            for v, old in saved.items():
                if old is None:
                    os.environ.pop(v, None)

    def map(self, tasks: Iterable[tuple[Any, list[np.ndarray]]]) -> Iterator[tuple[Any, list[np.ndarray]]]:
        pending: deque[tuple[Any, Any]] = deque()
        limit = 2 * self.workers
        for meta, arrays in tasks:
            pending.append((meta, self.pool.apply_async(_predict, (arrays,))))
            while len(pending) >= limit:
                m, result = pending.popleft()
                yield m, result.get()
        while pending:
            m, result = pending.popleft()
            yield m, result.get()

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()
