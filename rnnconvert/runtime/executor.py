"""The executor: runs a planned graph on checked inputs, within a memory budget.

The budget is kept twice. Before a call, from the declared node shapes with the call's
batch and free lengths filled in (refusing a call that would not fit before allocating
anything). While it runs, from the real outputs: each node's outputs must have the shape
the bundle declares wherever it declares a dimension (format 1.2: declared dimensions are
binding), and the elements held so far must stay within ``max_elements`` -- so a bundle
that under-declares its shapes cannot make a call allocate far past the bound.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import FormatError, InputError, ResourceError
from .common import format_shape
from .estimate import output_elements
from .plan import Node, Plan

#: A recurrent node's carried streaming state: ``[*states]`` or ``[*states, last_output]``.
States = dict[str, list[np.ndarray]]


class Executor:
    """Evaluates ``plan`` with at most ``max_elements`` array elements held per call."""

    def __init__(self, plan: Plan, max_elements: int):
        self.plan = plan
        self.max_elements = int(max_elements)
        self._node_shapes = [n.result_shapes for n in plan.nodes]
        self._budget_cache: dict[tuple[tuple[int, ...], ...], int] = {}
        # Each node's estimate for the input shapes seen (estimate.py is a function of them):
        # a batch-1 call or a streamed step asks for the same shapes every time.
        self._ahead: dict[tuple[str, tuple[tuple[int, ...], ...]], int] = {}
        # Per node output: its rank, and the (axis, size) pairs it binds in a whole call and
        # in a streamed chunk (see _check_outputs).
        self._binding = {
            n.name: [
                (
                    len(shape),
                    [(a, d) for a, d in enumerate(shape) if d is not None and a > 0],
                    [(a, d) for a, d in enumerate(shape) if d is not None and a > 1],
                )
                for shape in n.result_shapes
            ]
            for n in plan.nodes
        }

    def run(
        self, arrays: list[np.ndarray], states: States | None = None, *, carry_outputs: bool = False
    ) -> tuple[list[np.ndarray], States]:
        """Evaluate the graph. ``states`` gives recurrent nodes their initial states
        (``[*states]``, or ``[*states, last_output]`` with ``carry_outputs``, which also
        marks a streamed chunk); returns the model outputs and every recurrent node's final
        states in the same layout.

        A node whose bundle entry has ``initial_state`` refs starts from those, as Keras
        does for a stateful layer given an initial state -- unless it continues from
        carried states: always when streaming (``carry_outputs``) a node already started,
        and under the ``while_states_zero`` rule when any carried state is non-zero."""
        self.check_budget(arrays)
        env: dict[str, list[np.ndarray]] = {info.name: [a] for info, a in zip(self.plan.inputs, arrays)}
        held = sum(int(a.size) for a in arrays)
        finals: States = {}
        for node in self.plan.nodes:
            args = [env[n][i] for n, i in node.inputs]
            self._check_ahead(node, args, held)
            kwargs: dict[str, Any] = {}
            try:
                if node.n_states or node.mask is not None or node.named:
                    kwargs = _call_kwargs(node, env, states, carry_outputs)
                    outs = node.call(*args, **kwargs)
                else:
                    outs = node.call(*args)  # the common stateless node, without kwargs
            except (InputError, ResourceError):
                raise
            except MemoryError:
                raise ResourceError(f"node {node.name!r} ({node.op}) ran out of memory") from None
            except (TypeError, ValueError, IndexError, KeyError, AttributeError) as exc:
                # Load-time checks cover the contract of every op; this is the last line for
                # inputs and bundles they could not anticipate, named rather than raw.
                raise FormatError(f"node {node.name!r} ({node.op}) cannot run on these inputs: {exc}") from None
            held += self._check_outputs(node, outs, chunk=carry_outputs)
            if held > self.max_elements:
                raise ResourceError(
                    f"this call holds {held:,} array elements after node {node.name!r} ({node.op}), over "
                    f"max_elements={self.max_elements:,}; split the batch or the sequence, or load(..., max_elements=N)"
                )
            env[node.name] = outs
            if node.n_states and states is not None:
                finals[node.name] = _finals(node, outs, kwargs, carry_outputs)
        return [env[n][i] for n, i in self.plan.output_refs], finals

    def _check_ahead(self, node: Node, args: list[np.ndarray], held: int) -> None:
        """Refuse, before it runs, a node whose outputs would take the call past
        ``max_elements`` -- sized from its real inputs (estimate.py), not only its declaration."""
        shapes = tuple(np.shape(a) for a in args)
        key = (node.name, shapes)
        ahead = self._ahead.get(key)
        if ahead is None:
            ahead = _declared_elements(node, shapes) if node.fused else output_elements(node, list(shapes))
            if len(self._ahead) >= 4096:  # bounded: varying lengths do not grow it forever
                self._ahead.clear()
            self._ahead[key] = ahead
        if held + ahead > self.max_elements:
            raise ResourceError(
                f"node {node.name!r} ({node.op}) would hold {ahead:,} array elements on these inputs, "
                f"{held + ahead:,} in all, over max_elements={self.max_elements:,}; split the batch or the sequence, "
                "or load(..., max_elements=N)"
            )

    def _check_outputs(self, node: Node, outs: list[np.ndarray], *, chunk: bool) -> int:
        """Check ``outs`` against ``node``'s declared shapes; returns their element count.

        The batch axis is the caller's (and a stateful model's streams may differ from
        its predict batch); in a streamed chunk, so is the time axis."""
        if len(outs) != node.n_outputs:
            raise FormatError(
                f"node {node.name!r} ({node.op}) gave {len(outs)} outputs; the bundle declares {node.n_outputs}"
            )
        size = 0
        for k, (rank, whole, chunked) in enumerate(self._binding[node.name]):
            o = outs[k]
            shape = o.shape if type(o) is np.ndarray else np.shape(o)
            ok = len(shape) == rank
            for a, d in chunked if chunk else whole:
                if not ok or shape[a] != d:
                    ok = False
                    break
            if not ok:
                raise FormatError(
                    f"node {node.name!r} ({node.op}): output {k} has shape {tuple(shape)}, but the bundle declares "
                    f"{format_shape(node.result_shapes[k])}"
                )
            size += o.size if type(o) is np.ndarray else int(np.size(o))
        return size

    def check_budget(self, arrays: list[np.ndarray]) -> None:
        """Refuse, before allocating, a call whose tensors would exceed ``max_elements``."""
        total = self.call_elements(arrays)
        if total > self.max_elements:
            raise ResourceError(
                f"this call needs about {total:,} array elements, over max_elements={self.max_elements:,}; "
                "split the batch or the sequence, or load(..., max_elements=N) to raise the bound"
            )

    def call_elements(self, arrays: list[np.ndarray]) -> int:
        """The elements a call on ``arrays`` holds by the declared shapes: its inputs and
        every node output, with the call's batch and free lengths filled in."""
        key = tuple(a.shape for a in arrays)
        total = self._budget_cache.get(key)  # streaming asks every step, with the same shapes
        if total is None:
            total = self._estimate(arrays)
            if len(self._budget_cache) >= 64:
                self._budget_cache.clear()
            self._budget_cache[key] = total
        return total

    def _estimate(self, arrays: list[np.ndarray]) -> int:
        batch = arrays[0].shape[0] if arrays and arrays[0].ndim else 1
        free = 1
        for info, a in zip(self.plan.inputs, arrays):
            for axis, want in enumerate(info.shape[1:], start=1):
                if want is None and axis < a.ndim:
                    free = max(free, a.shape[axis])
        total = sum(int(a.size) for a in arrays)
        for shapes in self._node_shapes:
            for shape in shapes:
                n = 1
                for axis, d in enumerate(shape):
                    n *= d if d is not None else (batch if axis == 0 else free)
                total += n
        return total


def _declared_elements(node: Node, shapes: tuple[tuple[int, ...], ...]) -> int:
    """A fused node's outputs (plan.Node.fused) sized by the shapes its call gives: the
    batch and each free axis taken from its first input (a fused convolution's pooled axes
    are never longer than its input's)."""
    first = shapes[0] if shapes else ()
    total = 0
    for shape in node.result_shapes:
        n = 1
        for axis, d in enumerate(shape):
            if d is None or axis == 0:
                d = first[axis] if axis < len(first) else 1
            n *= d
        total += n
    return total


def _call_kwargs(node: Node, env: dict[str, list[np.ndarray]], states: States | None, carry: bool) -> dict[str, Any]:
    """The mask, the named inputs and the initial states (and, streaming, the last output)
    ``node`` starts from."""
    kwargs: dict[str, Any] = {kw: [None] * size for kw, size in node.named_lists.items()}
    for kw, pos, (n, i) in node.named_args:
        if pos is None:
            kwargs[kw] = env[n][i]
        else:
            kwargs[kw][pos] = env[n][i]
    if node.mask is not None:
        kwargs["mask"] = env[node.mask[0]][node.mask[1]]
    n_states = node.n_states
    carried = states.get(node.name) if states is not None and n_states else None
    if node.initial_state and not (carry and carried) and _starts_from_given(node, carried):
        kwargs["initial_state"] = [env[n][i] for n, i in node.initial_state]
    elif carried:
        kwargs["initial_state"] = carried[:n_states]
        if carry:
            kwargs["initial_output"] = carried[n_states]
    return kwargs


def _starts_from_given(node: Node, carried: list[np.ndarray] | None) -> bool:
    """Whether a node with ``initial_state`` refs starts from them rather than ``carried``
    (the ``initial_state_rule`` hook, format 1.2 F2)."""
    if node.initial_state_rule == "every_call" or not carried:
        return True
    # while_states_zero (tf_keras): the given state only while every carried state is zero.
    return not any(s.any() for s in carried[: node.n_states])


def _finals(node: Node, outs: list[np.ndarray], kwargs: dict[str, Any], carry: bool) -> list[np.ndarray]:
    final = list(outs[1:])
    if carry:  # the last output, which a masked next step repeats
        y = outs[0]
        if not node.config.get("return_sequences"):
            last = y
        elif y.shape[1]:
            last = y[:, -1]
        else:  # an empty chunk
            last = kwargs.get("initial_output", np.zeros((y.shape[0], *y.shape[2:]), np.float32))
        final.append(last)
    return final


__all__ = ["Executor", "States"]
