"""Zoo models saved live by tf_keras 2.21 as SavedModel folders (``model.save("dir")``), converted
without TensorFlow and compared with Keras's outputs on the zoo's inputs.

Saving is the cost: a default save traces every call function (5-50 s per recurrent model on a
loaded CI machine), ``save_traces=False`` skips the traces (~1-2 s) and leaves the Keras
metadata and the checkpoint -- all rnnconvert reads -- as they are. So a few cases are saved
the default way (the folders people have) and a broad set, one per family of layers, without
traces. The whole zoo passes both ways (checked once by hand: see the savedmodel notes); CI
runs this selection to stay within its time budget.
"""

from __future__ import annotations

import warnings

import pytest
from conftest import assert_parity

from rnnconvert.converter import convert
from rnnconvert.runtime import load

TRACED = ["lstm128_sigmoid_onehot_chars", "gru_reset_after_False_bias_True"]
UNTRACED = [
    "attention_seq2seq_lstm",
    "stacked_lstm_hard_sigmoid_softmax",
    "functional_multi_io",
    "embedding_float_ids_dropout",
    "return_state_initial_state_every_rnn",
    "rnn_stacked_cells_repeated_bidirectional",
    "conv_lstm_bidirectional_stacked",
    "lrcn_video_classifier",
    "normalization_layers",
    "shared_layers",
    "nested_models_deep_and_masked",
    "bidirectional_return_state_stacked",
    "time_distributed_rnn_and_embedding",
    "masked_seq2seq_initial_state",
    "recurrent_family_all_in_one",
    "merge_layers",
]
PARAMS = [(c, True) for c in TRACED] + [(c, False) for c in UNTRACED]


@pytest.mark.keras
@pytest.mark.parametrize("case,traces", PARAMS, ids=[f"{c}-{'traced' if t else 'untraced'}" for c, t in PARAMS])
def test_savedmodel_folder_parity(zoo, tmp_path, case, traces):
    built = zoo.get(case, "tf_keras")
    folder = tmp_path / "saved"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built.model.save(folder, save_traces=traces)
    assert (folder / "keras_metadata.pb").is_file()
    result = convert(folder, tmp_path / "out")
    assert result.doc["source"]["container"] == "savedmodel"
    ours = load(result.out_dir).predict(built.inputs if len(built.inputs) > 1 else built.inputs[0])
    assert_parity(ours, built.expected if len(built.expected) > 1 else built.expected[0], f"{case}/savedmodel")


@pytest.mark.keras
def test_keras3_export_folder_is_refused(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((3, 2)), keras.layers.SimpleRNN(2)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.export(tmp_path / "exported", verbose=False)
    with pytest.raises(Exception, match=r"without a Keras config.*model\.save\('model\.keras'\)") as info:
        convert(tmp_path / "exported", tmp_path / "out")
    from rnnconvert.errors import InputError

    assert isinstance(info.value, InputError)
    assert not (tmp_path / "out").exists()
