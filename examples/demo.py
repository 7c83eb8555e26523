"""Run the converted example model with the NumPy runtime and compare it with Keras.

    rnnconvert examples/charlstm/model.keras build/charlstm-bundle --force --metadata examples/charlstm/metadata.json
    python examples/demo.py [BUNDLE_DIR]        # default: build/charlstm-bundle

Needs only NumPy and rnnconvert (no TensorFlow); the vocabulary comes from the bundle
itself (``model.metadata["vocab"]``, stored by ``--metadata``). For each seed string in
charlstm/reference.npz it prints the three likeliest next characters according to our
runtime, then the largest difference from the probabilities Keras recorded for the same
seeds when the model was trained, then 200 characters of generated text. Exits 1 if the
difference exceeds 1e-5 * max(1, max|y|).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from rnnconvert.runtime import load

EXAMPLE = Path(__file__).parent / "charlstm"
GENERATE = 200  # characters to generate
TEMPERATURE = 0.5  # < 1 sharpens the distribution; sampling uses a fixed seed, so runs repeat


def main(bundle: str) -> int:
    model = load(bundle)
    vocab: list[str] | None = model.metadata.get("vocab")
    if not isinstance(vocab, list):
        print(f"{bundle} has no vocabulary: convert with --metadata {EXAMPLE / 'metadata.json'}", file=sys.stderr)
        return 1
    index = {c: i for i, c in enumerate(vocab)}
    reference = np.load(EXAMPLE / "reference.npz")
    seeds, keras_probs = reference["inputs"], reference["outputs"]  # (B, T) int32, (B, V) float32

    def decode(ids) -> str:
        return "".join(vocab[int(i)] for i in ids)

    print(model)
    t0 = time.perf_counter()
    probs = model.predict(seeds)  # (B, V): next-character probabilities
    ms = (time.perf_counter() - t0) * 1e3

    print(f"\nnext character after each seed (rnnconvert runtime, {len(seeds)} sequences in {ms:.1f} ms):")
    for ids, p in zip(seeds, probs):
        top3 = np.argsort(-p)[:3]
        print(f"  {decode(ids)!r} -> " + ", ".join(f"{vocab[i]!r} {p[i]:.3f}" for i in top3))

    diff = float(np.max(np.abs(probs - keras_probs)))
    tolerance = 1e-5 * max(1.0, float(np.max(np.abs(keras_probs))))
    print(f"\nmax |rnnconvert - keras| = {diff:.2e} (tolerance {tolerance:.0e})")

    # Generation: feed the seed once, then one character at a time, carrying the LSTM
    # state with model.step instead of re-running the whole text through predict.
    rng = np.random.default_rng(0)
    text = decode(seeds[0])
    state = model.initial_state(batch_size=1)
    p, state = model.step(seeds[:1], state)  # a chunk (1, T): the probabilities after its last character
    for _ in range(GENERATE):
        logits = np.log(np.maximum(p[0].astype(np.float64), 1e-12)) / TEMPERATURE
        logits[index[""]] = -np.inf  # index 0 is reserved and never a character
        weights = np.exp(logits - logits.max())
        next_id = int(rng.choice(len(vocab), p=weights / weights.sum()))
        text += vocab[next_id]
        p, state = model.step(np.array([next_id], dtype=np.int32), state)
    print(f"\ngenerated ({GENERATE} characters sampled at temperature {TEMPERATURE}, streamed step by step):")
    print("  " + text.replace("\n", "\n  "))

    if diff > tolerance:
        print(f"FAIL: the converted model differs from Keras by {diff:.2e} > {tolerance:.0e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/charlstm-bundle"))
