"""The ConvLSTM runtime op on its own (no Keras): the blocks its input convolution is
computed in change no bit, in either direction; channels_first is channels_last with the
channel axis moved; a sequence fed in chunks with carried state and output equals one
call. Keras parity is in cases_conv_lstm.py and test_conv_lstm_cells.py."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

op = importlib.import_module("rnnconvert.runtime.ops.conv_lstm")


def _setup(rank: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    spatial = (7, 6, 5)[:rank]
    ksize = (3, 2, 2)[:rank]
    x = rng.normal(0, 1, (2, 9, *spatial, 3)).astype(np.float32)
    kw = dict(
        kernel=rng.normal(0, 0.3, (*ksize, 3, 8)).astype(np.float32),
        recurrent_kernel=rng.normal(0, 0.3, (*ksize, 2, 8)).astype(np.float32),
        bias=rng.normal(0, 0.3, 8).astype(np.float32),
        filters=2,
        strides=[1, 2, 1][:rank],
        dilation_rate=[1] * rank,
        padding="same",
        activation={"type": "tanh"},
        recurrent_activation={"type": "hard_sigmoid", "slope": 0.2, "offset": 0.5},
        return_sequences=True,
    )
    mask = rng.random((2, 9)) > 0.3
    return x, kw, mask


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_input_conv_blocks_change_nothing(monkeypatch, rank, go_backwards):
    x, kw, mask = _setup(rank)
    ref = op.conv_lstm(x, data_format="channels_last", go_backwards=go_backwards, mask=mask, **kw)
    for bound in (1, 300, 2000):
        monkeypatch.setattr(op, "IM2COL_ELEMENTS", bound)
        got = op.conv_lstm(x, data_format="channels_last", go_backwards=go_backwards, mask=mask, **kw)
        for a, b in zip(ref, got):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_channels_first_is_channels_last_moved(rank):
    x, kw, mask = _setup(rank, 1)
    last = op.conv_lstm(x, data_format="channels_last", mask=mask, **kw)
    first = op.conv_lstm(np.moveaxis(x, -1, 2), data_format="channels_first", mask=mask, **kw)
    np.testing.assert_array_equal(np.moveaxis(first[0], 2, -1), last[0])
    for a, b in zip(first[1:], last[1:]):
        np.testing.assert_array_equal(np.moveaxis(a, 1, -1), b)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_chunks_with_carried_state_equal_one_call(data_format):
    x, kw, mask = _setup(2, 2)
    if data_format == "channels_first":
        x = np.moveaxis(x, -1, 2)
    whole = op.conv_lstm(x, data_format=data_format, mask=mask, **kw)
    state, last, parts = None, None, []
    for a, b in ((0, 1), (1, 4), (4, 4), (4, 9)):
        y, h, c = op.conv_lstm(
            x[:, a:b],
            data_format=data_format,
            mask=mask[:, a:b],
            initial_state=state,
            initial_output=last,
            **kw,
        )
        state = [h, c]
        if b > a:
            last = y[:, -1]
        parts.append(y)
    np.testing.assert_allclose(np.concatenate(parts, axis=1), whole[0], rtol=0, atol=1e-6)
    np.testing.assert_allclose(state[0], whole[1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(state[1], whole[2], rtol=0, atol=1e-6)


def test_dilation_bomb_is_refused_before_allocating():
    """A bundle whose dilation would pad one frame to billions of cells raises
    ResourceError instead of allocating."""
    from rnnconvert.errors import ResourceError

    x, kw, _ = _setup(2)
    kw["dilation_rate"] = [1, 10**9]
    kw["strides"] = [1, 1]
    with pytest.raises(ResourceError, match="one frame needs"):
        op.conv_lstm(x, data_format="channels_last", **kw)
