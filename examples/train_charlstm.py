"""Train the demo model: a character-level LSTM language model over Python's own docs.

The corpus is real English technical prose that every Python installation carries:
the docstrings of a fixed list of standard-library modules and their public members.
The model reads 40 characters and predicts the next one. Run it from the repo root
with TensorFlow installed (``make test`` installs it):

    .venv/bin/python examples/train_charlstm.py

It writes examples/charlstm/{model.keras, vocab.json, reference.npz, README.md};
reference.npz holds seed inputs and Keras's own predictions for them, which the demo
compares the converted model against.
"""

from __future__ import annotations

import datetime
import inspect
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

MODULES = [
    "collections",
    "itertools",
    "functools",
    "json",
    "re",
    "string",
    "textwrap",
    "argparse",
    "pathlib",
    "datetime",
]
WINDOW = 40
OUT = Path(__file__).parent / "charlstm"
SEEDS = [
    "Return a new dictionary initialized from ",
    "The regular expression pattern is compil",
    "If the optional argument is not given, t",
    "This module provides functions for worki",
]


def corpus() -> str:
    import importlib

    texts = []
    for name in MODULES:
        mod = importlib.import_module(name)
        for obj in [mod] + [getattr(mod, n) for n in sorted(dir(mod)) if not n.startswith("_")]:
            doc = inspect.getdoc(obj)
            if doc and doc not in texts:
                texts.append(doc)
    text = "\n\n".join(texts)
    return "".join(ch if (ch.isascii() and (ch.isprintable() or ch == "\n")) else " " for ch in text)


def main() -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(1234)
    text = corpus()
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    ids = np.array([index[c] for c in text], dtype=np.int32)
    split = int(len(ids) * 0.9)
    rng = np.random.default_rng(0)

    def windows(arr: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        starts = rng.integers(0, len(arr) - WINDOW - 1, n)
        x = np.stack([arr[s : s + WINDOW] for s in starts])
        return x, arr[starts + WINDOW]

    x_train, y_train = windows(ids[:split], 80_000)
    x_val, y_val = windows(ids[split:], 5_000)
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(len(vocab), 24),
            keras.layers.LSTM(96, return_sequences=True),
            keras.layers.LSTM(96),
            keras.layers.Dense(len(vocab), activation="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.time()
    model.fit(x_train, y_train, batch_size=256, epochs=4, validation_data=(x_val, y_val), verbose=2)
    seconds = time.time() - t0
    train_acc = model.evaluate(x_train[:5000], y_train[:5000], verbose=0)[1]
    val_acc = model.evaluate(x_val, y_val, verbose=0)[1]
    baseline = float(np.mean(y_val == np.bincount(ids[:split]).argmax()))
    print(f"corpus {len(text):,} chars, vocab {len(vocab)}; trained {seconds:.0f} s")
    print(f"accuracy: train {train_acc:.3f}, validation {val_acc:.3f}; most-frequent-char baseline {baseline:.3f}")

    OUT.mkdir(parents=True, exist_ok=True)
    model.save(OUT / "model.keras")
    (OUT / "vocab.json").write_text(json.dumps(vocab) + "\n")
    seeds = np.array([[index.get(c, 0) for c in s[:WINDOW]] for s in SEEDS], dtype=np.int32)
    np.savez(OUT / "reference.npz", inputs=seeds, outputs=model.predict(seeds, verbose=0).astype(np.float32))
    (OUT / "README.md").write_text(
        f"""# charlstm: the demo model

A character-level language model: it reads {WINDOW} characters and predicts the next one.

* Task and data: next-character prediction over the docstrings of Python standard-library
  modules ({", ".join(MODULES)}) and their public members, as `inspect.getdoc` returns them
  ({len(text):,} characters, {len(vocab)} distinct). 90% of the text for training windows,
  the last 10% for validation.
* Model: Embedding({len(vocab)}, 24) → LSTM(96, return_sequences) → LSTM(96) → Dense({len(vocab)}, softmax).
* Accuracy on held-out text: {val_acc:.3f} (train {train_acc:.3f}); always guessing the most
  frequent character scores {baseline:.3f}.
* `reference.npz`: four seed strings (`inputs`) and the probabilities Keras's `predict`
  gave for them (`outputs`).
* Provenance: trained by `train_charlstm.py` with Keras {keras.__version__}, TensorFlow
  {tf.__version__}, on {datetime.date.today().isoformat()}, in {seconds:.0f} s on 2 CPU cores.
  Retrain with `.venv/bin/python examples/train_charlstm.py` after `make test` installed TensorFlow.
"""
    )


if __name__ == "__main__":
    main()
