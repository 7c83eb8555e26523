"""Subcommands (#12.18): a registry, a usage line that lists them, the MODEL OUT_DIR shorthand,
and a first word that means the same whatever files the working directory holds."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from rnnconvert import cli

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden" / "1.0.0" / "bundle"
# A real Keras 2.1.3 file (tests/data/legacy/PROVENANCE.md).
LEGACY_H5 = DATA / "legacy" / "k2_dl4j_simple_lstm_keras213" / "simple_flatten_lstm_tf_keras_2_model.h5"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse's usage errors and -h
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_usage_lists_the_subcommands(capsys):
    code, _, err = run(capsys)
    assert code == cli.EXIT_USAGE
    assert "usage: rnnconvert {convert,check,inspect,predict}" in err
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for name in ("convert", "check", "inspect", "predict"):
        assert f"  {name}  " in out
    code, _, err = run(capsys, "model-only.keras")  # the shorthand's usage error lists the commands too
    assert code == cli.EXIT_USAGE and "{convert,check,inspect,predict}" in err


def test_files_named_like_commands_do_not_change_their_meaning(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(LEGACY_H5, tmp_path / "check")  # a Keras file named "check"...
    (tmp_path / "inspect").mkdir()  # ... and a folder named "inspect"
    shutil.copytree(GOLDEN, tmp_path / "bundle")
    code, out, err = run(capsys, "check", "bundle")
    assert code == 0, err
    assert "SHA-256" in out and not (tmp_path / "bundle" / "check").exists()
    code, out, err = run(capsys, "inspect", "bundle")
    assert code == 0, err
    assert "Total params" in out
    code, out, err = run(capsys, "convert", "check", "out")  # the explicit way to convert it
    assert code == 0, err
    assert out.startswith("wrote out") and (tmp_path / "out" / "model.json").is_file()


def test_shorthand_converts_when_the_first_word_is_not_a_command(capsys, tmp_path):
    code, out, err = run(capsys, str(LEGACY_H5), str(tmp_path / "out"))
    assert code == 0, err
    assert "wrote" in out and (tmp_path / "out" / "model.json").is_file()
    code, out, err = run(capsys, "--force", str(LEGACY_H5), str(tmp_path / "out"))  # options first
    assert code == 0, err


def test_a_mistyped_command_is_not_taken_for_a_file(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "chek", "bundle")
    assert code == cli.EXIT_USAGE
    assert "did you mean 'rnnconvert check'" in err


def test_a_command_module_registers_with_one_entry(capsys, tmp_path, monkeypatch):
    """How ``predict`` (rnnconvert/scoring/command.py) plugs in: one COMMANDS entry."""
    (tmp_path / "hello_command.py").write_text(
        textwrap.dedent(
            """
            DESCRIPTION = "Say hello to a bundle."

            def add_arguments(parser):
                parser.add_argument("bundle")
                parser.add_argument("--times", type=int, default=1)

            def run(args):
                print(" ".join(["hello " + args.bundle] * args.times))
                return 3
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.COMMANDS, "hello", cli.Command.from_module("hello_command", help="greet a bundle"))
    code, out, _ = run(capsys, "hello", "b", "--times", "2")
    assert (code, out) == (3, "hello b hello b\n")
    code, out, _ = run(capsys, "hello", "--help")
    assert "Say hello to a bundle." in out and "usage: rnnconvert hello" in out
    code, out, _ = run(capsys, "-h")
    assert "  hello    greet a bundle" in out


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`rnnconvert inspect out/ | head -1`: the reader leaves early; no traceback."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnconvert", "inspect", str(GOLDEN)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    proc.stdout.close()  # before the child has written anything: its first print meets a closed pipe
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    proc.stderr.close()
    assert "Traceback" not in err and "BrokenPipe" not in err, err
