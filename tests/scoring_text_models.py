"""Two small Keras 3 text models, saved as ``.keras`` files and converted from those files once
per session: TextVectorization -> Embedding(mask_zero) -> LSTM -> Dense on one string per row,
and StringLookup("" as mask) -> Embedding -> GRU -> Dense on a list of words per row."""

from __future__ import annotations

import pytest

# Real text: punctuation, capitals, accents, CJK, an emoji, a no-break space, an empty line.
TEXTS = [
    "Hello, world! How's it going?",
    "Ünïcode naïve café — 日本語のテキスト。",
    "",
    "The cat sat on the mat.",
    "THE Cat; sat!! (on a mat)",
    "e-mail: someone@example.com #tags",
    "👍 great   product\tworks\nwell",
    "non\u00a0breaking space, «quotes» and ¡exclamations!",
    "Dog dog DOG dóg",
    "a b c d e f g h i j k l m n o p q r s t u v w x y z",
]
WORDS = ["the", "cat", "sat", "on", "mat", "ünï", "日本", "dog", "👍", "naïve!"]


@pytest.fixture(scope="session")
def text_models(tmp_path_factory):
    """(keras models, bundle paths) for ``"tv"`` (input ``text``, (B, 1) strings) and ``"lookup"``
    (input ``words``, (B, None) strings)."""
    keras = pytest.importorskip("keras")
    from rnnconvert.converter import convert

    root = tmp_path_factory.mktemp("scoring_text_models")
    keras.utils.set_random_seed(11)
    L = keras.layers
    built = {}

    tv = L.TextVectorization(max_tokens=60, output_mode="int")
    tv.adapt(TEXTS)
    text = keras.Input((1,), dtype="string", name="text")
    x = L.LSTM(6)(L.Embedding(60, 8, mask_zero=True)(tv(text)))
    built["tv"] = keras.Model(text, L.Dense(3, name="score")(x))

    words = keras.Input((None,), dtype="string", name="words")
    ids = L.StringLookup(vocabulary=WORDS, mask_token="")(words)
    h = L.GRU(5)(L.Embedding(len(WORDS) + 2, 4, mask_zero=True)(ids))
    built["lookup"] = keras.Model(words, L.Dense(2, activation="softmax", name="p")(h))

    bundles = {}
    for name, model in built.items():
        model.save(root / f"{name}.keras")
        convert(root / f"{name}.keras", root / name)
        bundles[name] = str(root / name)
    return built, bundles
