"""The dialects of Keras model configs: how each era writes layers, calls and weights.

Which class a layer entry is (layers, Keras 3 operations, inline TensorFlow operations), how
nested models number their calls, which names a nested model's weights
are filed under, and where a Sequential's input shape is written. Every accessor here
checks the types it reads: a malformed-but-valid JSON config is a ``FormatError``. How a
call writes its input tensors is ``inbound.py``'s.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import FormatError
from .graph import Shape
from .keras_era import Era

MODEL_CLASSES = {"Sequential", "Functional", "Model"}
#: Layers whose config holds Python code: refused, never executed.
CODE_CLASSES = {"Lambda"}
#: tf_keras's inline TensorFlow operations (``x * 2.0``, ``tf.math.multiply``): no code, but not converted.
TF_OP_CLASSES = {"TFOpLambda", "SlicingOpLambda"}
#: Deeper JSON than any real model config; refused before anything recurses over it.
MAX_CONFIG_DEPTH = 200

HistoryT = tuple[str, int, int]

#: Keras 3 activation operations (keras.ops.relu6, ...; converter/layers/activation_ops.py).
ACTIVATION_OPS = frozenset(
    "Relu Relu6 Sigmoid SparseSigmoid Softplus Softsign SoftShrink SparsePlus Silu Squareplus LogSigmoid LeakyRelu"
    " HardSigmoid HardSilu Elu Selu Gelu Celu Glu TanhShrink HardTanh HardShrink Threshold Softmax LogSoftmax"
    " Sparsemax Tanh Exp".split()
)
_OPS_ONLY = {
    "NotEqual",
    "Any",
    "All",
    "LogicalAnd",
    "LogicalOr",
    "ExpandDims",
    "ZerosLike",
    "OnesLike",
    "ConvertToTensor",
    # tfop: Keras 3 operations no layer shares a name with (their config may carry a dtype)
    "Cast",
    "Sum",
    "Prod",
    "GetItem",
}

#: Keras 3 operations whose class name a layer also has (or may have): recognised in a
#: legacy-h5 config (no ``module``) by a bare config (tfop: the converted allow-list).
_OPS_BARE = frozenset(
    "Concatenate Add Subtract Multiply Divide TrueDivide Power Maximum Minimum FloorDivide Mod Equal Less "
    "LessEqual Greater GreaterEqual LogicalXor Absolute Abs Negative Exp Log Log1p Expm1 Sqrt Rsqrt Square "
    "Reciprocal Sign Floor Ceil Round Sin Cos LogicalNot Relu Sigmoid Tanh Softmax Mean Max Amax Min Amin All "
    "Transpose Reshape Squeeze Stack Matmul".split()
)

_DTYPES = ("float32", "float16", "float64", "int32", "int64", "int8", "uint8", "bool", "string")


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (absent and malformed read alike)."""
    return value if isinstance(value, dict) else {}


def check_config(config: Any, limit: int = MAX_CONFIG_DEPTH) -> None:
    """Refuse JSON nested deeper than ``limit`` (iteratively: no recursion to overflow) and
    text that is not Unicode (a lone surrogate such as ``"\\ud800"``: no bundle can hold it)."""
    stack: list[tuple[Any, int]] = [(config, 0)]
    while stack:
        obj, depth = stack.pop()
        if depth > limit:
            raise FormatError(f"the model config is nested more than {limit} levels deep")
        if isinstance(obj, dict):
            stack.extend((k, depth + 1) for k in obj)
            stack.extend((v, depth + 1) for v in obj.values())
        elif isinstance(obj, list):
            stack.extend((v, depth + 1) for v in obj)
        elif isinstance(obj, str):
            check_text(obj, "the model config")


def check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise FormatError(f"{where} holds text that is not valid Unicode ({ascii(text)[:60]})") from None


def index(value: Any, what: str) -> int:
    """A node or tensor index: a non-negative integer."""
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FormatError(f"{what}: expected a non-negative integer, got {str(value)[:60]!r}")
    return value


def name_of(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise FormatError(f"{what}: expected a layer name, got {str(value)[:60]!r}")
    return value


def class_of(lc: dict[str, Any]) -> str:
    """A layer config's ``class_name`` ("" when it is not a string)."""
    value = lc.get("class_name")
    return value if isinstance(value, str) else ""


def layer_name(lc: dict[str, Any]) -> str:
    cfg = lc.get("config")
    if isinstance(cfg, dict) and isinstance(cfg.get("name"), str):
        return cfg["name"]
    return str(lc.get("name", lc.get("class_name", "layer")))


def model_layers(cfg: Any) -> list[dict[str, Any]]:
    """The layer configs of a model config (a Sequential's may be a bare list); non-objects skipped."""
    layers = cfg.get("layers", []) if isinstance(cfg, dict) else cfg if isinstance(cfg, list) else []
    return [lc for lc in layers if isinstance(lc, dict)] if isinstance(layers, list) else []


def is_custom(lc: dict[str, Any]) -> str | None:
    module = lc.get("module")
    registered = lc.get("registered_name")
    if isinstance(module, str) and module and not module.startswith(("keras", "tf_keras", "tensorflow")):
        return f"custom class from module {module!r}"
    if isinstance(registered, str) and registered and ">" in registered:
        return f"custom registered class {registered!r}"
    return None


def tf_op_name(lc: dict[str, Any]) -> str:
    """The TensorFlow function a TFOpLambda / SlicingOpLambda layer calls (``tf.math.multiply``)."""
    fn = as_dict(lc.get("config")).get("function")
    if isinstance(fn, str) and fn:
        return f"tf.{fn}" if lc.get("class_name") == "TFOpLambda" and not fn.startswith("tf.") else fn
    return "an unnamed TensorFlow operation"


def converter_key(lc: dict[str, Any], cls: str) -> str:
    """Keras 3 operations recorded in a functional graph (``keras.src.ops``) are keyed
    ``ops.<Class>`` so that, e.g., the ``concatenate`` op is not taken for the layer.
    Legacy-h5 configs drop ``module``; there an op is recognised by its bare config."""
    module = lc.get("module")
    cfg = as_dict(lc.get("config"))
    if isinstance(module, str) and module.startswith("keras.src.ops"):
        return f"ops.{cls}"
    if module is None and cls in ACTIVATION_OPS and "trainable" not in cfg and "dtype" not in cfg:
        return f"ops.{cls}"  # an operation's config holds its name and parameters only
    # Every layer's config (Keras 1 to 3) says "trainable" and, since Keras 2, "dtype"; an
    # operation's says neither.
    if module is None and (cls in _OPS_ONLY or ("trainable" not in cfg and "dtype" not in cfg and cls in _OPS_BARE)):
        return f"ops.{cls}"
    return cls


def input_spec(batch_shape: Any, dtype: Any) -> tuple[Shape, str]:
    if not isinstance(batch_shape, (list, tuple)) or not batch_shape:
        raise FormatError(f"model input has no usable shape ({str(batch_shape)[:60]!r})")
    dims: list[int | None] = []
    for d in batch_shape:
        if d is None:
            dims.append(None)
            continue
        if isinstance(d, float) and math.isfinite(d) and d == int(d):
            d = int(d)
        if not isinstance(d, int) or isinstance(d, bool) or d < 0:
            raise FormatError(f"model input shape {str(batch_shape)[:60]}: {str(d)[:20]!r} is not a dimension")
        dims.append(d)
    dt = as_dict(dtype.get("config")).get("name", "float32") if isinstance(dtype, dict) else (dtype or "float32")
    dt = str(dt)
    if dt not in _DTYPES:
        dt = "float32"
    if dt in ("float16", "float64"):
        dt = "float32"  # the runtime computes in float32
    return tuple(dims), dt


def first_layer_input(lc: dict[str, Any], model_cfg: dict[str, Any]) -> tuple[Shape, str] | None:
    """A Sequential without an InputLayer: the input shape its first layer (or the build) records."""
    cfg = as_dict(lc.get("config"))
    for key in ("batch_shape", "batch_input_shape"):
        if cfg.get(key):
            return input_spec(cfg[key], cfg.get("dtype") or cfg.get("input_dtype"))
    if cfg.get("input_shape"):  # Keras 1
        shape = cfg["input_shape"]
        return input_spec(
            [None, *shape] if isinstance(shape, list) else shape, cfg.get("input_dtype") or cfg.get("dtype")
        )
    if cfg.get("input_dim") and lc.get("class_name") not in ("Embedding",):  # Keras 1 Dense(input_dim=...)
        return input_spec([None, cfg["input_dim"]], cfg.get("input_dtype"))
    if lc.get("class_name") == "Embedding" and "input_length" in cfg:
        return input_spec([None, cfg.get("input_length")], "float32")
    bis = model_cfg.get("build_input_shape")
    if bis:
        return input_spec(bis, "float32")
    build = as_dict(lc.get("build_config")).get("input_shape")
    if build:
        return input_spec(build, "float32")
    return None


def input_layer_spec(lc: dict[str, Any]) -> tuple[Shape, str]:
    c = as_dict(lc.get("config"))
    return input_spec(c.get("batch_shape") or c.get("batch_input_shape"), c.get("dtype") or c.get("input_dtype"))


def weight_owners(cfg: Any) -> dict[str, list[str]]:
    """For each layer of a nested model, the names its weights may be filed under in a
    legacy HDF5 group: its own name, the names of the layers inside it when it is a
    model itself (tf_keras names a weight after the innermost layer only), and its
    inner layer's for a wrapper. A Keras 1 weight name (no ``/``) starts with one of
    them followed by ``_`` (``forward_``/``backward_`` + the inner layer in a Bidirectional)."""
    out: dict[str, list[str]] = {}
    for lc in model_layers(cfg):
        name = layer_name(lc)
        names = [name]
        if class_of(lc) in MODEL_CLASSES:
            names += [n for ns in weight_owners(lc.get("config")).values() for n in ns]
        inner = as_dict(lc.get("config")).get("layer")
        if isinstance(inner, dict):
            iname = layer_name(inner)
            names += [iname, f"forward_{iname}", f"backward_{iname}"]
        out[name] = names
    return out


def first_node_offset(lc: dict[str, Any], era: Era, *, output: bool = False) -> int:
    """A nested graph model's calls are numbered after the internal call that built it
    (on its own Input), so references to its first outer call say node 1: for
    Functional models in tf.keras, and for tf.keras Sequentials that begin with an
    InputLayer. Keras 1 and standalone Keras 2 number every nested model so, Sequential
    or not (``kept_nodes = 1`` for any Container / Network in their ``get_config``).

    Keras 3 numbers a nested Functional's calls so only in ``output_layers`` (``output``);
    its inbound nodes count the model's own calls from 0, as for a Sequential (its
    ``Functional.get_config`` reindexes the two differently)."""
    if class_of(lc) not in MODEL_CLASSES:
        return 0
    if era.major == 1 or (era.major == 2 and not era.tf_keras):
        return 1
    if era.major >= 3:
        return 1 if output and lc.get("class_name") != "Sequential" else 0
    if lc.get("class_name") != "Sequential":
        return 1
    layers = model_layers(lc.get("config"))
    return 1 if layers and layers[0].get("class_name") == "InputLayer" else 0


def sequential_layers(cfg: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    if isinstance(cfg, list):  # Keras 1 / early Keras 2
        return [lc for lc in cfg if isinstance(lc, dict)], {}
    if isinstance(cfg, dict) and isinstance(cfg.get("layers"), list):
        return [lc for lc in cfg["layers"] if isinstance(lc, dict)], cfg
    raise FormatError("Sequential config has no 'layers' list")


def merges_models(lc: dict[str, Any]) -> bool:
    cfg = lc.get("config")
    return lc.get("class_name") == "Merge" and isinstance(cfg, dict) and isinstance(cfg.get("layers"), list)


def mentions_stateful(config: Any) -> bool:
    """Whether any layer config, at any nesting depth, says ``stateful: true``."""
    stack = [config]
    while stack:
        obj = stack.pop()
        if isinstance(obj, dict):
            if obj.get("stateful") is True:
                return True
            stack.extend(obj.values())
        elif isinstance(obj, list):
            stack.extend(obj)
    return False


def tensor_refs(kwargs: Any) -> list[tuple[str, int]]:
    """The (layer, node) of every tensor record ``k3_tensors`` left in a call's arguments."""
    found: list[tuple[str, int]] = []
    stack = [kwargs]
    while stack:
        o = stack.pop()
        if isinstance(o, tuple) and len(o) == 2 and o[0] == "__tensor__":
            found.append((o[1][0], o[1][1]))
        elif isinstance(o, dict):
            stack.extend(o.values())
        elif isinstance(o, list):
            stack.extend(o)
    return found
