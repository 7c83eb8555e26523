"""Keras cases for options only some eras have: time-major recurrent layers (tf.keras /
tf_keras; Keras 3 dropped ``time_major``)."""

from __future__ import annotations

import numpy as np
import pytest
from keras_zoo import case, randomize


@case("time_major_rnns")
def _(K, era, rng):
    if era == "keras3":
        pytest.skip("Keras 3 has no time_major")
    # Keras sees (T, B, D) with T in the "batch" place: inputs are (T=6, B=3, D=4).
    x = K.Input((3, 4))
    seq = K.layers.LSTM(5, time_major=True, return_sequences=True)(x)
    last, h = K.layers.GRU(4, time_major=True, return_state=True)(seq)
    masked = K.layers.Masking(mask_value=0.0)(x)
    srnn = K.layers.SimpleRNN(3, time_major=True, return_sequences=True)(masked)
    srnn_last = K.layers.LSTM(2, time_major=True)(srnn)
    m = K.Model(x, [seq, last, h, K.layers.Dense(2)(seq), srnn, srnn_last])
    randomize(m, rng)
    xs = rng.normal(0, 1, (6, 3, 4)).astype(np.float32)
    xs[4:, 0] = 0.0  # batch row 0: its last two steps are masked
    xs[0, 1] = 0.0  # batch row 1: its first step is masked
    return m, [xs]
