"""Declarations of the recurrent ops: LSTM, GRU, SimpleRNN, ConvLSTM.

``RECURRENT`` holds their shared facts -- gate order, gate count, state count --
once; the converter, the ops and the fast paths import them from here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .types import ACTIVATION_REF, RECURRENT, Key, OpSpec, Recurrent, Slot, constant

#: Gate order (the column blocks of kernel, recurrent_kernel and bias) and state count.
RECURRENT_FACTS: dict[str, Recurrent] = {
    "LSTM": Recurrent(("i", "f", "c", "o"), 2),  # states [h, c]
    "GRU": Recurrent(("z", "r", "h"), 1),  # states [h]
    "SimpleRNN": Recurrent(("h",), 1),  # states [h]
    "ConvLSTM": Recurrent(("i", "f", "c", "o"), 2),  # states [h, c]
}
#: Recurrent op -> number of states that follow its output.
RECURRENT_STATE_COUNT: dict[str, int] = {op: r.n_states for op, r in RECURRENT_FACTS.items()}

#: F2 (format 1.2.0): how a stateful node given initial_state starts each call.
EVERY_CALL = "every_call"  # Keras 3: from the given initial state, every call
WHILE_STATES_ZERO = "while_states_zero"  # tf_keras / Keras 2: the given state only while all carried states are 0
INITIAL_STATE_RULES = (EVERY_CALL, WHILE_STATES_ZERO)

_BOOL = {"type": "boolean"}
_UNITS = Key({"type": "integer", "minimum": 1}, doc="H, the width of the output and of each state")
_RULE = Key(
    {"enum": list(INITIAL_STATE_RULES)},
    required=False,
    since="1.2.0",
    doc="a stateful node given initial_state: restart from it every call, or only while the carried states are 0",
)


def _common_keys(op: str) -> dict[str, Key]:
    return {
        "use_bias": Key(_BOOL),
        "return_sequences": Key(_BOOL),
        "go_backwards": Key(_BOOL),
        "stateful": Key(_BOOL),
        "zero_output_for_mask": Key(_BOOL),
        "activation": Key(ACTIVATION_REF),
        **({"recurrent_activation": Key(ACTIVATION_REF)} if op != "SimpleRNN" else {}),
        **({"gate_order": Key({"const": list(RECURRENT_FACTS[op].gate_order)})} if op != "SimpleRNN" else {}),
        "initial_state_rule": _RULE,
    }


_WEIGHTS = {"kernel": Slot(), "recurrent_kernel": Slot(), "bias": Slot(required=False)}


def _bias_rule(config: dict[str, Any], b: np.ndarray | None, shape: tuple[int, ...]) -> str | None:
    if (b is not None) != bool(config.get("use_bias")):
        return "use_bias must match the presence of a bias"
    if b is not None and b.shape != shape:
        return f"bias must be {shape}"
    return None


def _rnn_shapes(op: str):
    g = RECURRENT_FACTS[op].n_gates

    def shapes(config: dict[str, Any], w: dict[str, np.ndarray]) -> str | None:
        k, r = w["kernel"], w["recurrent_kernel"]
        if k.ndim != 2 or r.ndim != 2:
            return "kernel and recurrent_kernel must be 2-D"
        h = r.shape[0]
        if config["units"] != h or r.shape[1] != g * h or k.shape[1] != g * h:
            return f"{op} kernels must be (D, {g}H) and (H, {g}H) with H = units"
        two_rows = op == "GRU" and config.get("reset_after")
        return _bias_rule(config, w.get("bias"), (2, g * h) if two_rows else (g * h,))

    return shapes


def _conv_lstm_shapes(config: dict[str, Any], w: dict[str, np.ndarray]) -> str | None:
    k, r, f = w["kernel"], w["recurrent_kernel"], config["filters"]
    if not 3 <= k.ndim <= 5:
        return "ConvLSTM kernel must be (*K, C, 4F), 1-3 axes K"
    rank = k.ndim - 2
    if k.shape[-1] != 4 * f or r.shape != (*k.shape[:rank], f, 4 * f):
        return "ConvLSTM kernels must be (*K, C, 4F) and (*K, F, 4F) with F = filters"
    for key in ("strides", "dilation_rate"):
        if len(config[key]) != rank:
            return f"{key} needs {rank} values"
    return _bias_rule(config, w.get("bias"), (4 * f,))


def _rnn(op: str, extra: dict[str, Key] | None = None) -> OpSpec:
    n = RECURRENT_FACTS[op].n_states
    return OpSpec(
        op,
        since="1.0.0",
        config={"units": _UNITS, **_common_keys(op), **(extra or {})},
        weights=dict(_WEIGHTS),
        mask=True,
        initial_state=True,
        outputs=("y", *(("h", "c") if n == 2 else ("h",))),
        time=constant(RECURRENT),
        shapes=_rnn_shapes(op),
        recurrent=RECURRENT_FACTS[op],
    )


_INTS = {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1, "maxItems": 3}

RECURRENT_SPECS = [
    _rnn("LSTM"),
    _rnn("GRU", {"reset_after": Key(_BOOL, doc="bias (2, 3H): input and recurrent biases apart")}),
    _rnn("SimpleRNN"),
    OpSpec(
        "ConvLSTM",
        since="1.1.0",
        config={
            "filters": Key({"type": "integer", "minimum": 1}),
            "strides": Key(_INTS),
            "dilation_rate": Key(_INTS),
            "padding": Key({"enum": ["valid", "same"]}),
            "data_format": Key({"enum": ["channels_last", "channels_first"]}),
            **_common_keys("ConvLSTM"),
        },
        weights=dict(_WEIGHTS),
        mask=True,
        initial_state=True,
        outputs=("y", "h", "c"),
        time=constant(RECURRENT),
        shapes=_conv_lstm_shapes,
        recurrent=RECURRENT_FACTS["ConvLSTM"],
    ),
]
