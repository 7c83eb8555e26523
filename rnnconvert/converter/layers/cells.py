"""``RNN(cell)`` and ``RNN(StackedRNNCells([...]))`` mapped onto the fused recurrent ops.

One cell is exactly the fused layer (LSTMCell -> LSTM, ...). A stack of cells runs, at
every step, cell k on cell k-1's output: the same numbers as a chain of recurrent nodes
where every node but the last returns sequences. With ``go_backwards`` only the first
node runs backwards -- the later ones read its output, already in processing order -- and
their mask is reversed to match. States are listed cell by cell, as Keras lists them.
"""

from __future__ import annotations

from typing import Any

from ...runtime.spec import RECURRENT_STATE_COUNT
from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported
from .common import flat_tensors

_CELL_TO_LAYER = {"LSTMCell": "LSTM", "GRUCell": "GRU", "SimpleRNNCell": "SimpleRNN"}
_N_STATES = RECURRENT_STATE_COUNT


def _cells(spec: Any) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(spec, dict):
        raise Unsupported("RNN without a cell config")
    cls, cfg = spec.get("class_name"), spec.get("config") or {}
    if cls == "StackedRNNCells":
        out = []
        for c in cfg.get("cells") or []:
            out.extend(_cells(c))
        return out
    if cls not in _CELL_TO_LAYER:
        raise Unsupported(f"RNN({cls}) is not supported (cells: {sorted(_CELL_TO_LAYER)}, StackedRNNCells)")
    return [(_CELL_TO_LAYER[cls], dict(cfg))]


def convert_rnn(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    from . import LAYER_CONVERTERS

    if call.opt("time_major", False):  # tf_keras: (T, B, D) in, transposed around the stack
        from .time_major import convert_time_major

        return convert_time_major(call, b, convert_rnn)
    cells = _cells(call.opt("cell"))
    if not cells:
        raise Unsupported("StackedRNNCells with no cells")
    counts = [3 if cfg.get("use_bias", True) else 2 for _, cfg in cells]
    if len(call.weights) != sum(counts):
        raise Unsupported(
            f"expected {sum(counts)} weight arrays for {len(cells)} cell(s), the file has {len(call.weights)}"
        )
    x = call.inputs[0]
    states = list(call.inputs[1:])
    states += flat_tensors(call.kwargs.get("initial_state"))  # nested per cell in Keras
    n_states = [_N_STATES[layer] for layer, _ in cells]
    if states and len(states) != sum(n_states):
        raise Unsupported(f"initial_state has {len(states)} tensors; the cells take {sum(n_states)}")
    go_backwards = bool(call.opt("go_backwards", False))
    seqs = bool(call.opt("return_sequences", False))
    mask = call.call_mask(0)  # what Keras calls the layer with: none in Keras 3 given initial states
    zero = bool(call.opt("zero_output_for_mask", False))
    if call.opt("unroll", False) not in (False, True):
        raise Unsupported("unroll must be a boolean")
    # Keras's unrolled scan zeroes masked outputs after the loop, with the mask in time
    # order while a backwards sequence is in processing order (see recurrent.py): that
    # applies to the stack's output, so it is done once after the last node -- a cell
    # node doing it would zero real steps of its output before the next cell reads it.
    late_zero = bool(call.opt("unroll", False)) and go_backwards and zero and seqs and mask is not None
    rev_mask: Tensor | None
    if go_backwards and mask is not None and len(cells) > 1:
        (rev_mask,) = b.node(
            "Reverse",
            name=f"{call.name}/mask_reversed",
            inputs=[mask],
            config={"axis": 1},
            outputs=[(mask.shape, "bool")],
            layer=call,
        )
    else:
        rev_mask = mask
    seq, w0, s0 = x, 0, 0
    final_states: list[Tensor] = []
    for k, ((layer, cfg), count, ns) in enumerate(zip(cells, counts, n_states)):
        last = k == len(cells) - 1
        sub_cfg = {
            **cfg,
            "return_sequences": seqs if last else True,
            "return_state": True,
            "go_backwards": go_backwards if k == 0 else False,
            "stateful": bool(call.opt("stateful", False)),
            "zero_output_for_mask": zero and not late_zero,
            "unroll": False,  # numerically the loop, except for late_zero, handled here
        }
        inp = seq.with_mask(mask if k == 0 else rev_mask)
        sub = LayerCall(
            name=call.name if len(cells) == 1 else f"{call.name}/cell{k}",
            class_name=layer,
            config=sub_cfg,
            weights=call.weights[w0 : w0 + count],
            weight_names=call.weight_names[w0 : w0 + count],
            inputs=[inp, *states[s0 : s0 + ns]] if states else [inp],
            kwargs={},
            era=call.era,
            call_index=call.call_index,
        )
        outs = LAYER_CONVERTERS[layer](sub, b)
        seq = outs[0]
        final_states += outs[1:]
        w0, s0 = w0 + count, s0 + ns
    if late_zero:
        assert mask is not None
        (seq,) = b.node(
            "ZeroMasked",
            name=f"{call.name}/unrolled_zero_output",
            inputs=[seq, mask],
            config={},
            outputs=[(seq.shape, "float32")],
            layer=call,
        )
    seq = seq.with_mask(x.mask if seqs else None)  # the sequence's own mask flows on
    final_states = [t.with_mask(None) for t in final_states]
    return [seq, *final_states] if call.opt("return_state", False) else [seq]
