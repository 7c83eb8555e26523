"""The converter's dispatch table: Keras layer class name -> converter function.

A converter function takes a :class:`~rnnconvert.converter.graph.LayerCall` and
the :class:`~rnnconvert.converter.graph.GraphBuilder`, appends nodes, and returns
the layer's output tensors. It raises ``Unsupported`` for options it cannot
convert; the walker collects those and reports every one together.
"""

from __future__ import annotations

from ..graph import ConverterFn
from .activation_layers import (
    convert_batch_normalization,
    convert_elu_layer,
    convert_layer_normalization,
    convert_leaky_relu_layer,
    convert_prelu,
    convert_relu_layer,
    convert_softmax_layer,
)
from .activation_ops import ACTIVATION_OP_CONVERTERS
from .attention import convert_additive_attention, convert_attention
from .attn import ATTN_CONVERTERS
from .augment import AUGMENT_CONVERTERS
from .cells import convert_rnn
from .conv import (
    convert_average_pooling1d,
    convert_conv1d,
    convert_cropping1d,
    convert_global_average_pooling1d,
    convert_global_max_pooling1d,
    convert_max_pooling1d,
    convert_upsampling1d,
    convert_zero_padding1d,
)
from .conv2d import CONV2D_CONVERTERS
from .conv_lstm import convert_conv_lstm
from .convnd import CONV_CONVERTERS
from .core import convert_activation, convert_dense, convert_embedding, convert_identity, convert_masking
from .cudnn import convert_cudnn_gru, convert_cudnn_lstm
from .mask_ops import (
    convert_any,
    convert_concatenate_op,
    convert_convert_to_tensor,
    convert_expand_dims,
    convert_logical_and,
    convert_logical_or,
    convert_not_equal,
    convert_zeros_like,
)
from .merge import convert_concatenate, convert_dot, convert_elementwise_merge, convert_legacy_merge
from .mha import MHA_CONVERTERS
from .norm import NORM_CONVERTERS
from .pool import POOL_CONVERTERS
from .recurrent import convert_gru, convert_lstm, convert_simple_rnn
from .resize import RESIZE_CONVERTERS
from .shape import convert_flatten, convert_permute, convert_repeat_vector, convert_reshape
from .text import TEXT_CONVERTERS
from .tfop import TFOP_TF_CONVERTERS
from .tfop_keras3 import TFOP_KERAS3_CONVERTERS
from .wrappers import convert_bidirectional, convert_time_distributed

LAYER_CONVERTERS: dict[str, ConverterFn] = {
    "Dense": convert_dense,
    "Activation": convert_activation,
    "Embedding": convert_embedding,
    "Masking": convert_masking,
    "LSTM": convert_lstm,
    "GRU": convert_gru,
    "SimpleRNN": convert_simple_rnn,
    "CuDNNLSTM": convert_cudnn_lstm,
    "CuDNNGRU": convert_cudnn_gru,
    "RNN": convert_rnn,
    "ConvLSTM1D": convert_conv_lstm,
    "ConvLSTM2D": convert_conv_lstm,
    "ConvLSTM3D": convert_conv_lstm,
    "Bidirectional": convert_bidirectional,
    "Conv1D": convert_conv1d,
    "MaxPooling1D": convert_max_pooling1d,
    "AveragePooling1D": convert_average_pooling1d,
    "GlobalMaxPooling1D": convert_global_max_pooling1d,
    "GlobalAveragePooling1D": convert_global_average_pooling1d,
    "ZeroPadding1D": convert_zero_padding1d,
    "Cropping1D": convert_cropping1d,
    "UpSampling1D": convert_upsampling1d,
    **CONV2D_CONVERTERS,
    "Flatten": convert_flatten,
    "Reshape": convert_reshape,
    "Permute": convert_permute,
    "RepeatVector": convert_repeat_vector,
    "BatchNormalization": convert_batch_normalization,
    "LayerNormalization": convert_layer_normalization,
    "ReLU": convert_relu_layer,
    "LeakyReLU": convert_leaky_relu_layer,
    "PReLU": convert_prelu,
    "ELU": convert_elu_layer,
    "Softmax": convert_softmax_layer,
    "Concatenate": convert_concatenate,
    "Add": convert_elementwise_merge,
    "Subtract": convert_elementwise_merge,
    "Multiply": convert_elementwise_merge,
    "Average": convert_elementwise_merge,
    "Maximum": convert_elementwise_merge,
    "Minimum": convert_elementwise_merge,
    "Dot": convert_dot,
    # Keras 1 layers (their configs and weights are rewritten by converter/keras1.py first).
    "Merge": convert_legacy_merge,
    "Convolution1D": convert_conv1d,
    "AtrousConvolution1D": convert_conv1d,
    "AtrousConvolution2D": CONV2D_CONVERTERS["Conv2D"],
    "TimeDistributedDense": convert_dense,
    "Attention": convert_attention,
    "AdditiveAttention": convert_additive_attention,
    # Keras 3's recorded mask operations.
    # Keyed "ops.<Class>": the walker uses that key for keras.src.ops operations.
    "ops.NotEqual": convert_not_equal,
    "ops.Any": convert_any,
    "ops.LogicalAnd": convert_logical_and,
    "ops.LogicalOr": convert_logical_or,
    "ops.ExpandDims": convert_expand_dims,
    "ops.ZerosLike": convert_zeros_like,
    "ops.OnesLike": convert_zeros_like,
    "ops.Concatenate": convert_concatenate_op,
    "ops.ConvertToTensor": convert_convert_to_tensor,
    "TimeDistributed": convert_time_distributed,
    # Inference no-ops: identity at predict time.
    "Dropout": convert_identity,
    "SpatialDropout1D": convert_identity,
    "SpatialDropout2D": convert_identity,
    "SpatialDropout3D": convert_identity,
    "GaussianNoise": convert_identity,
    "GaussianDropout": convert_identity,
    "AlphaDropout": convert_identity,
    "ActivityRegularization": convert_identity,
    # format 1.3: convolutions (issue 14)
    **CONV_CONVERTERS,
    # format 1.3: 3-D pooling, adaptive pooling, padding, cropping (issue 14)
    **POOL_CONVERTERS,
    # format 1.3: resizing and rescaling (issue 14)
    **RESIZE_CONVERTERS,
    # format 1.3: attention (issue 16)
    **ATTN_CONVERTERS,
    **MHA_CONVERTERS,
    # format 1.3: normalization and inference-time layers (issue 16)
    **NORM_CONVERTERS,
    **ACTIVATION_OP_CONVERTERS,
    **AUGMENT_CONVERTERS,
    # format 1.3: preprocessing and text (issue 16)
    **TEXT_CONVERTERS,
    # format 1.3: inline tensor operations (issue 16)
    **TFOP_TF_CONVERTERS,
    **TFOP_KERAS3_CONVERTERS,
}

__all__ = ["LAYER_CONVERTERS"]
