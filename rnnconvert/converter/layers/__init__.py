"""The converter's dispatch table: Keras layer class name -> converter function.

A converter function takes a :class:`~rnnconvert.converter.graph.LayerCall` and
the :class:`~rnnconvert.converter.graph.GraphBuilder`, appends nodes, and returns
the layer's output tensors. It raises ``Unsupported`` for options it cannot
convert; the walker collects those and reports every one together.
"""

from __future__ import annotations

from ..graph import ConverterFn
from .core import convert_activation, convert_dense, convert_embedding, convert_identity, convert_masking
from .ops_layers import convert_any, convert_logical_and, convert_not_equal
from .recurrent import convert_gru, convert_lstm, convert_simple_rnn
from .wrappers import convert_bidirectional, convert_time_distributed

LAYER_CONVERTERS: dict[str, ConverterFn] = {
    "Dense": convert_dense,
    "Activation": convert_activation,
    "Embedding": convert_embedding,
    "Masking": convert_masking,
    "LSTM": convert_lstm,
    "GRU": convert_gru,
    "SimpleRNN": convert_simple_rnn,
    "Bidirectional": convert_bidirectional,
    # Keras 3's recorded mask operations.
    "NotEqual": convert_not_equal,
    "Any": convert_any,
    "LogicalAnd": convert_logical_and,
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
}

__all__ = ["LAYER_CONVERTERS"]
