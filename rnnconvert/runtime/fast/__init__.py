"""Fast paths for the recurrent ops and Dense, prepared once when a bundle loads
(one module per layer family, beside the reference ops in ``runtime/ops/``).

The reference ops (lstm.py, gru.py, simple_rnn.py, core.py) state the math; the functions
prepared here compute the same numbers with as few NumPy calls per timestep as we could
find, because at small batch sizes every call costs a fixed ~0.5 µs that dwarfs its
arithmetic. ``prepare_fast(op, config, weights)`` returns a function with the op's call
signature minus weights and config, or None where the reference op must run.

Layout. Inside a call the recurrent state and gates are kept *feature-major*: arrays
``(F, B)``. At B > 1 the recurrent product runs as ``R^T (G, H) @ h (H, B)``, so each
gate's block of the result is one contiguous ``(H, B)`` slab: NumPy runs element-wise
arithmetic on contiguous memory 2-3x faster than on the column slices of a row-major
``(B, G)`` product. At B = 1 the same memory is the row ``(1, F)`` and the product runs
as ``h (1, H) @ R (H, G)``, BLAS's fastest kernel for that shape.

Folded into the weights at load (exactly, or within float32 rounding -- see FORMAT.md):

* ``sigmoid(z) = 0.5 * tanh(z / 2) + 0.5``: the ``/ 2`` is folded into the gate columns of
  the kernels and biases (a power of two, so exact); one ``tanh`` call then covers every
  gate of a step and, for LSTM, the candidate as well;
* ``hard_sigmoid``: the slope is folded into the gate columns and the offset into their
  bias, leaving ``clip(z', 0, 1)``;
* the input bias joins the products as the weight of a constant-one input: the input
  projection at B > 1, and the one-timestep product ``[x_t, h, 1] @ [W; U; b]``;
* LSTM gate columns are reordered i,f,c,o -> c,f,i,o inside one buffer ``[c | c~ f i o]``:
  the sigmoid gates are contiguous, and ``[f, i] * [c, c~]`` is one multiply.

Memory. The input projection is computed a chunk of timesteps at a time (at most
``CHUNK_ELEMENTS`` values), so a call holds its output, O(B * G) state buffers and one
chunk of projected inputs -- bounded independently of the sequence length when only the
last output is returned. Nothing is allocated per timestep. Buffers are allocated per
call, so one loaded model may be used from several threads.

Masked calls run the reference op, except where a fast op has ``call_masked`` (LSTM at
B > 1 without initial states; see :func:`masked_fast`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .bidirectional import pair_bidirectional
from .conv import fast_conv
from .conv_pool import fuse_conv_pool
from .dense import fast_dense
from .gru import fast_gru
from .lstm import fast_lstm
from .scan import FastFn
from .simple_rnn import fast_simple_rnn

FAST_PATHS: dict[str, Callable[[dict[str, Any], dict[str, np.ndarray]], FastFn | None]] = {
    "LSTM": fast_lstm,
    "GRU": fast_gru,
    "SimpleRNN": fast_simple_rnn,
    "Dense": fast_dense,
    "Conv2D": fast_conv,
    "Conv3D": fast_conv,
}


#: The ops whose prepared fast path also takes masked calls (``call_masked``): a masked node
#: of any other op runs the reference op, and its fast path is not prepared at all.
MASKED_FAST_PATHS = frozenset({"LSTM"})


def prepare_fast(op: str, config: dict[str, Any], weights: dict[str, np.ndarray]) -> FastFn | None:
    """The prepared fast path of a node of ``op``, or None where the reference op must run.

    The caller decides masked nodes (they always run the reference op); ``config`` is the
    op's config as checked at load."""
    prepare = FAST_PATHS.get(op)
    return prepare(config, weights) if prepare is not None else None


def masked_fast(fast: FastFn, reference: FastFn) -> FastFn | None:
    """For a masked node: the fast op's ``call_masked`` where it takes the call, else the
    reference op; None when the fast op has no masked path at all."""
    call_masked = getattr(fast, "call_masked", None)
    if call_masked is None:
        return None

    def call(*args: Any, mask: np.ndarray | None = None, **kwargs: Any) -> list[np.ndarray]:
        if mask is not None:
            out = call_masked(*args, mask=mask, **kwargs)
            if out is not None:
                return out
            return reference(*args, mask=mask, **kwargs)
        return fast(*args, **kwargs)

    return call


__all__ = [
    "FAST_PATHS",
    "MASKED_FAST_PATHS",
    "masked_fast",
    "FastFn",
    "fast_conv",
    "fast_dense",
    "fast_gru",
    "fast_lstm",
    "fast_simple_rnn",
    "fuse_conv_pool",
    "pair_bidirectional",
    "prepare_fast",
]
