"""Load-time checks of each node against its op's declaration (``runtime/spec``).

They make a malformed bundle fail at ``load`` with a FormatError naming the node,
rather than at ``predict`` -- and keep every allocation the ops make bounded by the
sizes of the weights and inputs actually present. The rules themselves are declared
once per op in :mod:`rnnconvert.runtime.spec`; this module is their entry point.
"""

from __future__ import annotations

from .spec import call_keys, check_activation, check_named, check_node, check_output_shapes

__all__ = ["call_keys", "check_activation", "check_named", "check_node", "check_output_shapes"]
