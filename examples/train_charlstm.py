"""Train the demo model: a character-level LSTM language model over Python's own documentation.

Task: read 40 characters of English technical prose and predict the next character.

Data: real text that every Python installation carries, so nothing is downloaded --
the Zen of Python (``import this``) and the docstrings (``inspect.getdoc``) of a fixed
list of standard-library modules, of their public classes and functions, and of those
classes' public methods and properties, in a fixed order. Characters outside printable
ASCII become spaces. Every tenth docstring is held out for validation, so validation
text is prose the model never saw. The exact text depends on the Python version (the
README records which one, and the corpus's SHA-256).

Model (the one shipped in charlstm/model.keras, its time dimension free):

    Input((None,), int32) -> Embedding(V, 32) -> LSTM(128, return_sequences=True)
        -> LSTM(128) -> Dense(V, softmax)

It is trained the usual char-RNN way, predicting the next character at *every*
position of 40-character windows (the same layers with the second LSTM returning
sequences), which gives 40 targets per window instead of one. The weights are then
copied into the model above, which predicts after the last character, and that is
the model evaluated, saved (without optimizer state) and recorded.

Run it from the repo root with TensorFlow installed (``make test`` installs it):

    .venv/bin/python examples/train_charlstm.py          # about 4 minutes on 2 CPU cores

It writes charlstm/{model.keras, metadata.json, reference.npz, README.md} next to this
script. reference.npz holds four encoded seed strings (``inputs``, int32 (4, 40)) and
the probabilities Keras's own ``predict`` gave for them after reloading the saved file
(``outputs``, float32 (4, V)); ``demo.py`` compares the converted model against them.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import datetime
import hashlib
import importlib
import inspect
import io
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

MODULES = [
    "collections",
    "itertools",
    "functools",
    "operator",
    "json",
    "re",
    "string",
    "textwrap",
    "difflib",
    "argparse",
    "logging",
    "pathlib",
    "datetime",
    "calendar",
    "heapq",
    "bisect",
    "random",
    "statistics",
    "fractions",
    "decimal",
    "csv",
    "io",
    "shutil",
    "tempfile",
    "zipfile",
    "dataclasses",
    "enum",
    "contextlib",
    "abc",
    "typing",
    "inspect",
    "threading",
    "queue",
    "unittest",
    "pprint",
    "copy",
    "base64",
    "urllib.parse",
]
WINDOW = 40  # characters of context per training example
STRIDE = 10  # a training window starts every STRIDE characters
EPOCHS = 7
BATCH = 128
SEED = 1234
# Index 0 is reserved (padding / a future mask_zero) and never occurs in the data;
# then newline and the 95 printable ASCII characters.
VOCAB = ["", "\n"] + [chr(c) for c in range(32, 127)]
SEEDS = [  # each exactly WINDOW characters
    "Return a new dictionary initialized from",
    "The regular expression pattern is compil",
    "If the optional argument is not given, t",
    "This module provides functions for worki",
]


def documents() -> list[str]:
    """The Zen of Python, then each distinct docstring, in a fixed order.

    Called before Keras is imported: importing it alters a few stdlib docstrings as
    ``inspect.getdoc`` resolves them (it registers classes under collections.abc).
    """
    with contextlib.redirect_stdout(io.StringIO()):  # importing `this` prints the Zen
        this = importlib.import_module("this")
    docs = [codecs.decode(this.s, "rot13")]
    seen = set(docs)

    def add(obj: object) -> None:
        doc = inspect.getdoc(obj)
        if doc and doc not in seen:
            seen.add(doc)
            docs.append(doc)

    for name in MODULES:
        module = importlib.import_module(name)
        add(module)
        for attr in sorted(a for a in dir(module) if not a.startswith("_")):
            obj = getattr(module, attr)
            if not (inspect.isclass(obj) or inspect.isroutine(obj)):
                continue
            add(obj)
            if inspect.isclass(obj):
                for member_name, member in sorted(vars(obj).items()):
                    if not member_name.startswith("_") and (
                        inspect.isroutine(member) or isinstance(member, property | classmethod | staticmethod)
                    ):
                        add(member)
    printable = set(VOCAB[1:])
    return ["".join(c if c in printable else " " for c in doc) for doc in docs]


def encode(text: str) -> np.ndarray:
    index = {c: i for i, c in enumerate(VOCAB)}
    return np.array([index[c] for c in text], dtype=np.int32)


def build(return_sequences: bool):
    import keras

    return keras.Sequential(
        [
            keras.Input((None,), dtype="int32", name="chars"),
            keras.layers.Embedding(len(VOCAB), 32, name="embedding"),
            keras.layers.LSTM(128, return_sequences=True, name="lstm_1"),
            keras.layers.LSTM(128, return_sequences=return_sequences, name="lstm_2"),
            keras.layers.Dense(len(VOCAB), activation="softmax", name="next_char"),
        ],
        name="charlstm",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "charlstm")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args()
    docs = documents()

    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)
    train_text = "\n\n".join(d for i, d in enumerate(docs) if i % 10 != 9)
    val_text = "\n\n".join(d for i, d in enumerate(docs) if i % 10 == 9)
    corpus_sha = hashlib.sha256("\n\n".join(docs).encode()).hexdigest()
    train_ids, val_ids = encode(train_text), encode(val_text)
    print(
        f"corpus: {len(docs):,} documents, {len(train_text) + len(val_text):,} characters "
        f"({len(train_text):,} train, {len(val_text):,} validation), sha256 {corpus_sha[:16]}"
    )

    # Training windows: inputs ids[s : s+W], targets ids[s+1 : s+W+1] (the next char at every position).
    starts = np.arange(0, len(train_ids) - WINDOW - 1, STRIDE)
    np.random.default_rng(SEED).shuffle(starts)
    x_seq = np.stack([train_ids[s : s + WINDOW] for s in starts])
    y_seq = np.stack([train_ids[s + 1 : s + WINDOW + 1] for s in starts])

    # Evaluation examples for the shipped model: one WINDOW of context -> the character after it.
    def last_char_examples(ids: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
        s = np.arange(0, len(ids) - WINDOW, step)
        return np.stack([ids[i : i + WINDOW] for i in s]), ids[s + WINDOW]

    x_val, y_val = last_char_examples(val_ids, 5)
    x_tr, y_tr = last_char_examples(train_ids, len(train_ids) // len(x_val))
    x_val_seq = np.stack([val_ids[s : s + WINDOW] for s in range(0, len(val_ids) - WINDOW - 1, WINDOW)])
    y_val_seq = np.stack([val_ids[s + 1 : s + WINDOW + 1] for s in range(0, len(val_ids) - WINDOW - 1, WINDOW)])

    trainer = build(return_sequences=True)
    steps = args.epochs * int(np.ceil(len(x_seq) / BATCH))
    schedule = keras.optimizers.schedules.CosineDecay(4e-3, decay_steps=steps, alpha=0.05)
    trainer.compile(
        optimizer=keras.optimizers.Adam(schedule, clipnorm=1.0),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    t0, cpu0 = time.time(), time.process_time()
    trainer.fit(
        x_seq,
        y_seq,
        batch_size=BATCH,
        epochs=args.epochs,
        validation_data=(x_val_seq, y_val_seq),
        verbose=2,
        shuffle=True,
    )
    seconds, cpu_seconds = time.time() - t0, time.process_time() - cpu0

    # The shipped model: identical weights, predicting only after the last character.
    model = build(return_sequences=False)
    model.set_weights(trainer.get_weights())

    def accuracy(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(model.predict(x, batch_size=512, verbose=0).argmax(-1) == y))

    train_acc, val_acc = accuracy(x_tr, y_tr), accuracy(x_val, y_val)
    most_frequent = np.bincount(train_ids, minlength=len(VOCAB)).argmax()
    baseline = float(np.mean(y_val == most_frequent))
    bigram_counts = np.zeros((len(VOCAB), len(VOCAB)), dtype=np.int64)
    np.add.at(bigram_counts, (train_ids[:-1], train_ids[1:]), 1)
    bigram = float(np.mean(bigram_counts.argmax(1)[x_val[:, -1]] == y_val))
    print(
        f"trained in {seconds:.0f} s wall, {cpu_seconds:.0f} s CPU ({args.epochs} epochs of {len(x_seq):,} windows of {WINDOW})"
    )
    print(f"next-character accuracy after {WINDOW} characters: train {train_acc:.3f}, validation {val_acc:.3f}")
    print(
        f"baselines on validation: most frequent character ({VOCAB[most_frequent]!r}) {baseline:.3f}, "
        f"most frequent successor of the previous character {bigram:.3f}"
    )

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")  # uncompiled: weights and architecture only
    # the vocabulary travels in the bundle: rnnconvert ... --metadata metadata.json -> model.metadata["vocab"]
    (out / "metadata.json").write_text(json.dumps({"vocab": VOCAB}) + "\n")
    assert all(len(s) == WINDOW for s in SEEDS)
    seeds = np.stack([encode(s) for s in SEEDS])
    reloaded = keras.saving.load_model(out / "model.keras")
    outputs = reloaded.predict(seeds, verbose=0).astype(np.float32)
    np.savez(out / "reference.npz", inputs=seeds, outputs=outputs)
    size_kb = (out / "model.keras").stat().st_size / 1024
    print(f"saved {out}/model.keras ({size_kb:.0f} KiB, {model.count_params():,} parameters)")

    (out / "README.md").write_text(
        f"""# charlstm: the demo model

A character-level language model: it reads English technical prose one character at a
time and predicts the next character. Trained for real by
[`../train_charlstm.py`](../train_charlstm.py); `make demo` converts it and runs it with
the NumPy runtime.

* **Data** (real prose, no download): the Zen of Python and the docstrings (`inspect.getdoc`) of
  {len(MODULES)} standard-library modules, of their public classes and functions, and of those
  classes' public methods and properties: {len(docs):,} distinct documents, {len(train_text) + len(val_text):,}
  characters, non-ASCII characters replaced by spaces. Every tenth document is held out for
  validation ({len(val_text):,} characters). SHA-256 of the text with Python {platform.python_version()}:
  `{corpus_sha}` (other Python versions give slightly different text). Modules:
  {", ".join(f"`{m}`" for m in MODULES)}.
* **Vocabulary** (`metadata.json`, key `vocab`; `make demo` stores it in the bundle with
  `--metadata`, and the demos read it back as `model.metadata["vocab"]`): {len(VOCAB)} entries — index 0 reserved (the empty string,
  never in the data, kept free for padding), then newline and the 95 printable ASCII characters.
* **Model**: `Input((None,), int32)` → `Embedding({len(VOCAB)}, 32)` → `LSTM(128, return_sequences=True)`
  → `LSTM(128)` → `Dense({len(VOCAB)}, softmax)`; {model.count_params():,} parameters,
  `model.keras` {size_kb:.0f} KiB (saved without optimizer state). The time dimension is free.
* **Training**: {args.epochs} epochs over {len(x_seq):,} windows of {WINDOW} characters (one every
  {STRIDE} characters of the training text), predicting the next character at every position
  (the same weights with the last LSTM returning sequences); Adam, cosine-decayed learning rate
  from 4e-3, batch {BATCH}, seed {SEED}; {seconds:.0f} s wall clock ({cpu_seconds:.0f} s CPU) on a
  shared {os.cpu_count()}-core machine.
* **Accuracy** of the next character after {WINDOW} characters of context:

  | | accuracy |
  |---|---|
  | this model, validation documents | **{val_acc:.3f}** |
  | this model, training documents | {train_acc:.3f} |
  | baseline: always the most frequent character ({VOCAB[most_frequent]!r}) | {baseline:.3f} |
  | baseline: most frequent successor of the previous character | {bigram:.3f} |

* **`reference.npz`**: `inputs`, four seed strings encoded with the vocabulary (int32, shape
  {seeds.shape}), and `outputs`, the next-character probabilities Keras's `predict` gave for
  them after reloading `model.keras` (float32, shape {outputs.shape}).
* **Provenance**: trained by `train_charlstm.py` with Keras {keras.__version__}, TensorFlow
  {tf.__version__}, NumPy {np.__version__}, Python {platform.python_version()}, on
  {datetime.date.today().isoformat()}.
* **Retrain**: `.venv/bin/python examples/train_charlstm.py` (after `make test` has installed
  TensorFlow). Everything is seeded, and two runs on the training machine gave identical
  weights; another machine or TensorFlow version may give a slightly different model, and the
  script rewrites `reference.npz` to match whatever it trains.
"""
    )


if __name__ == "__main__":
    main()
