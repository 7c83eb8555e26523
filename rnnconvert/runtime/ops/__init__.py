"""The runtime's op table: bundle op type -> pure NumPy function.

Every function takes the node's data inputs positionally, then its weights and
config as keyword arguments (plus ``mask=`` / ``initial_state=`` where the op
accepts them), and returns a list of output arrays. No I/O, no hidden state.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .attention import attention
from .attn import dot_product_attention, einsum_dense
from .conv import conv1d, crop1d, global_pool1d, pad1d, pool1d, upsample1d
from .conv2d import conv2d, global_pool2d
from .conv_lstm import conv_lstm
from .convnd import conv, conv_transpose
from .core import (
    activation,
    dense,
    embedding,
    expand_dims,
    fill_like,
    logical_and,
    logical_or,
    masking,
    not_equal_mask,
    reduce_any,
)
from .dot import dot
from .gru import gru
from .hashing import hashing
from .lstm import lstm
from .masked_merge import masked_merge
from .normalization import batch_norm, layer_norm, prelu
from .norms import auto_contrast, group_norm, normalization, rms_norm, threshold, unit_norm
from .pool import adaptive_pool, cropping, global_pool3d, pool_nd, upsample3d, zero_padding
from .resize import center_crop, rescaling, resize2d
from .sequence import fold_time, merge, reverse, unfold_time, zero_masked
from .shape import flatten, permute, repeat_vector, reshape, transpose
from .simple_rnn import simple_rnn
from .tensor_ops import binary, cast, compare, matmul, reduce, slice_, squeeze, stack, unary
from .text import category_encoding, discretization, lookup
from .text_vectorization import text_vectorization

OpFn = Callable[..., list[np.ndarray]]

OPS: dict[str, OpFn] = {
    "Dense": dense,
    "Activation": activation,
    "Embedding": embedding,
    "NotEqualMask": not_equal_mask,
    "Masking": masking,
    "ReduceAny": reduce_any,
    "LogicalAnd": logical_and,
    "LogicalOr": logical_or,
    "ExpandDims": expand_dims,
    "FillLike": fill_like,
    "LSTM": lstm,
    "GRU": gru,
    "SimpleRNN": simple_rnn,
    "ConvLSTM": conv_lstm,
    "Reverse": reverse,
    "Merge": merge,
    "FoldTime": fold_time,
    "UnfoldTime": unfold_time,
    "ZeroMasked": zero_masked,
    "Conv1D": conv1d,
    "Pool1D": pool1d,
    "GlobalPool1D": global_pool1d,
    "ZeroPadding1D": pad1d,
    "Cropping1D": crop1d,
    "UpSampling1D": upsample1d,
    "Conv2D": conv2d,
    "Pool2D": pool_nd,  # the N-D pooling of ops/pool.py, as Pool3D
    "GlobalPool2D": global_pool2d,
    "Flatten": flatten,
    "Reshape": reshape,
    "Permute": permute,
    "RepeatVector": repeat_vector,
    "BatchNormalization": batch_norm,
    "LayerNormalization": layer_norm,
    "PReLU": prelu,
    "Dot": dot,
    "Attention": attention,
    "MaskedMerge": masked_merge,
    "Transpose": transpose,
    # format 1.3: convolutions (issue 14)
    "Conv3D": conv,
    "ConvTranspose": conv_transpose,
    # format 1.3: 3-D pooling, adaptive pooling, padding, cropping (issue 14)
    "Pool3D": pool_nd,
    "GlobalPool3D": global_pool3d,
    "AdaptivePool": adaptive_pool,
    "ZeroPadding": zero_padding,
    "Cropping": cropping,
    "UpSampling3D": upsample3d,
    # format 1.3: resizing and rescaling (issue 14)
    "Resize2D": resize2d,
    "CenterCrop": center_crop,
    "Rescaling": rescaling,
    # format 1.3: attention (issue 16)
    "EinsumDense": einsum_dense,
    "DotProductAttention": dot_product_attention,
    # format 1.3: normalization and inference-time layers (issue 16)
    "GroupNormalization": group_norm,
    "RMSNormalization": rms_norm,
    "UnitNormalization": unit_norm,
    "Normalization": normalization,
    "Threshold": threshold,
    "AutoContrast": auto_contrast,
    # format 1.3: preprocessing and text (issue 16)
    "Discretization": discretization,
    "CategoryEncoding": category_encoding,
    "Lookup": lookup,
    "TextVectorization": text_vectorization,
    "Hashing": hashing,
    # format 1.3: inline tensor operations (issue 16)
    "Slice": slice_,
    "Squeeze": squeeze,
    "Stack": stack,
    "Binary": binary,
    "Compare": compare,
    "Unary": unary,
    "Reduce": reduce,
    "MatMul": matmul,
    "Cast": cast,
}

# Ops that carry state across timesteps: output count = 1 + number of states (declared in spec/recurrent.py).
from ..spec.recurrent import RECURRENT_STATE_COUNT  # noqa: E402

__all__ = ["OPS", "RECURRENT_STATE_COUNT", "OpFn"]
