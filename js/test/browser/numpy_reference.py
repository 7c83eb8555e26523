"""The NumPy runtime's greedy continuation of seeds with the example char-LSTM, as JSON, for
the browser test (browser.test.mjs) to compare the JavaScript runtime's with.

    python js/test/browser/numpy_reference.py BUNDLE_DIR > reference.json
"""

from __future__ import annotations

import json
import sys

import numpy as np

from rnnconvert.runtime import load

SEEDS = ["Return a new list containing all items from the iterable ", "The Zen of Python, by Tim Peters\n\n"]
COUNT = 120


def greedy(model, vocab: list[str], seed: str, n: int) -> tuple[str, list[float]]:
    index = {c: i for i, c in enumerate(vocab)}
    ids = np.array([[index.get(c, index[" "]) for c in seed]], np.int32)
    state = model.initial_state(batch_size=1)
    p, state = model.step(ids, state)
    first = p[0].tolist()
    text = seed
    for _ in range(n):
        nxt = int(np.argmax(p[0]))
        text += vocab[nxt]
        p, state = model.step(np.array([nxt], np.int32), state)
    return text, first


def main(bundle: str) -> None:
    model = load(bundle)
    vocab = model.metadata["vocab"]  # converted with --metadata examples/charlstm/metadata.json
    runs = []
    for seed in SEEDS:
        text, first = greedy(model, vocab, seed, COUNT)
        runs.append({"seed": seed, "count": COUNT, "text": text, "first_probs": first})
    json.dump({"runs": runs}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
