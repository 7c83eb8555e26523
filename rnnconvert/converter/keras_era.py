"""Which Keras wrote a file, and the semantics that follow from it.

The bundle records semantics, never versions; this module is the one place
where a Keras version turns into numbers (hard_sigmoid's slope) and defaults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


def _decimal(text: str) -> bool:
    """ASCII digits only (``"²".isdigit()`` is true, and ``int("²")`` fails)."""
    return text.isascii() and text.isdigit()


@dataclass(frozen=True)
class Era:
    major: int  # 1, 2 (Keras 2, tf.keras, tf_keras) or 3
    version: str | None
    guessed: bool = False

    def _v2(self) -> tuple[int, bool]:
        """(minor version, written by tf.keras) for a Keras 2.x version string."""
        v = (self.version or "").strip()
        parts = v.split(".")
        minor = int(parts[1]) if len(parts) >= 2 and _decimal(parts[1]) else 0
        return minor, v.endswith("-tf")

    @property
    def tf_keras(self) -> bool:
        """Written by tf.keras / tf_keras ("2.x.y-tf", or 2.4+ where Keras 2 became a tf.keras
        front end), as opposed to Keras 1 or standalone Keras 2.0-2.3."""
        if self.major != 2:
            return False
        minor, tf = self._v2()
        return tf or minor >= 4

    @property
    def recurrent_activation_default(self) -> str:
        """LSTM/GRU ``recurrent_activation`` when a config leaves it out: hard_sigmoid in
        Keras 1 and standalone Keras 2.0-2.2; sigmoid from Keras 2.3 (standalone and
        tf.keras, versions like "2.2.4-tf" and tf_keras "2.21.0") and in Keras 3."""
        if self.major == 2:
            minor, tf = self._v2()
            return "sigmoid" if tf or minor >= 3 else "hard_sigmoid"
        return "sigmoid" if self.major >= 3 else "hard_sigmoid"

    @property
    def reset_after_default(self) -> bool:
        """GRU ``reset_after`` when a config leaves it out (Keras 2.0-2.1.2 never wrote it):
        False in Keras 1 and standalone Keras 2.0-2.3; True in tf.keras 2 ("-tf" versions),
        Keras 2.4+ (a tf.keras front end), tf_keras and Keras 3."""
        if self.major == 2:
            minor, tf = self._v2()
            return tf or minor >= 4
        return self.major >= 3

    @property
    def leaky_relu_slope_default(self) -> float:
        """LeakyReLU's slope when a config leaves it out: 0.3 (``alpha``) up to Keras 2, 0.2 in Keras 3."""
        return 0.3 if self.major < 3 else 0.2

    @property
    def hard_sigmoid(self) -> dict[str, float]:
        # Keras <= 2 and tf.keras: clip(0.2x + 0.5); Keras 3: relu6(x + 3) / 6.
        return {"slope": 0.2, "offset": 0.5} if self.major < 3 else {"slope": 1.0 / 6.0, "offset": 0.5}


#: What Keras 1 assumed for options its configs leave out, by layer class (Keras 1.2.2's
#: ``recurrent.py``): LSTM/GRU gates ``hard_sigmoid``, outputs ``tanh``; its GRU applies the
#: reset gate before the recurrent product (``reset_after=False``, which Keras 1 never wrote).
KERAS1_DEFAULTS: dict[str, dict[str, Any]] = {
    "LSTM": {"recurrent_activation": "hard_sigmoid", "activation": "tanh"},
    "GRU": {"recurrent_activation": "hard_sigmoid", "activation": "tanh"},
    "SimpleRNN": {"activation": "tanh"},
}
#: Options a Keras 1 layer always has, whatever its config says.
KERAS1_FIXED: dict[str, dict[str, Any]] = {"GRU": {"reset_after": False}}


def era_of(keras_version: str | None, config: dict[str, Any]) -> Era:
    if not isinstance(keras_version, str):
        keras_version = None
    if keras_version:
        head = keras_version.strip().split(".")[0]
        if _decimal(head) and int(head) in (1, 2, 3):
            return Era(int(head), keras_version)
    # No version recorded: read the config's dialect.
    text = json.dumps(config)
    if '"module": "keras' in text or '"__keras_tensor__"' in text or '"batch_shape"' in text:
        return Era(3, keras_version, guessed=True)
    if '"output_dim"' in text or '"inner_activation"' in text or '"consume_less"' in text:
        return Era(1, keras_version, guessed=True)
    return Era(2, keras_version, guessed=True)
