"""``inspect``: a shared layer's parameters counted once (#12.5), and no traceback on any bundle
that ``load`` accepts (#12.12)."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import pytest

from rnnconvert import RnnConvertError
from rnnconvert.runtime import load
from rnnconvert.summary import summary, to_dot

GOLDEN = Path(__file__).parent / "data" / "golden"


def _rows(text: str) -> dict[str, str]:
    """Node name -> its "Param #" cell, from the table."""
    lines = text.splitlines()
    rules = [k for k, line in enumerate(lines) if line.startswith("---")]
    header = lines[rules[0] + 1]
    col = header.index("Param #")
    return {line.split(" (")[0]: line[col:].strip() for line in lines[rules[1] + 1 : rules[2]]}


def _count(cell: str) -> int:
    return int(cell.split(" ")[0].replace(",", ""))


@pytest.mark.keras
@pytest.mark.parametrize("era", ["keras3", "tf_keras"])
def test_shared_layer_parameters_are_counted_once(zoo, tmp_path, era):
    from rnnconvert.converter import convert

    built = zoo.get("shared_layers", era)  # one LSTM and one Dense, each called twice
    convert(built.files["keras" if era == "keras3" else "h5"][0], tmp_path / "b")
    text = summary(load(tmp_path / "b"))
    total = int(re.search(r"Total params: ([\d,]+)", text).group(1).replace(",", ""))
    assert total == built.model.count_params()  # Keras's own count
    rows = _rows(text)
    assert sum(_count(c) for c in rows.values()) == total
    sharing = [c for c in rows.values() if "shares" in c]
    assert len(sharing) == 2, rows  # the second call of the LSTM and of the Dense
    assert all(_count(c) == 0 for c in sharing)


def _junk_paths(doc, path=()):
    """The paths of model.json to spoil: every field but the weights' specs, the ops' configs
    (both checked at load by their own tests) and single numbers inside lists; of the
    nodes, the first three (an Embedding, its mask, an LSTM) stand for the rest."""
    if isinstance(doc, dict):
        items = [(k, v) for k, v in doc.items() if not (path == () and k == "weights") and k != "config"]
    elif isinstance(doc, list):
        items = [(i, v) for i, v in enumerate(doc) if isinstance(v, (dict, list)) or len(path) == 0]
        if path == ("nodes",):
            items = items[:3]
    else:
        return
    for k, v in items:
        yield (*path, k)
        yield from _junk_paths(v, (*path, k))


JUNK = [None, 7, "x\n\x1b[2J", [], {"a": [1]}]


def test_inspect_never_fails_on_a_bundle_load_accepts(tmp_path):
    """Replace every field of a golden bundle's model.json in turn with junk: whenever ``load``
    still accepts the bundle, ``summary`` and ``to_dot`` must work."""
    bundle = tmp_path / "b"
    shutil.copytree(GOLDEN / "1.0.0" / "bundle", bundle)
    original = json.loads((bundle / "model.json").read_text())
    accepted = 0
    for path in list(_junk_paths(original)):
        for junk in JUNK:
            doc = copy.deepcopy(original)
            parent = doc
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = junk
            (bundle / "model.json").write_text(json.dumps(doc))
            try:
                model = load(bundle)
            except RnnConvertError:
                continue
            accepted += 1
            try:
                summary(model)
                to_dot(model)
            except Exception as exc:  # noqa: BLE001 - the assertion names what broke
                pytest.fail(f"{'/'.join(map(str, path))} = {junk!r}: {type(exc).__name__}: {exc}")
    assert accepted > 50  # the mutations do reach inspect
