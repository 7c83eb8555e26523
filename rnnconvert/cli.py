"""The ``rnnconvert`` command line.

    rnnconvert MODEL OUT_DIR [--weights WEIGHTS_H5] [--force] [--verify] [--dtype float32|float16|int8]
    rnnconvert check BUNDLE_DIR
    rnnconvert inspect BUNDLE_DIR [--graph FILE]

Errors print as one line on stderr (no traceback) and exit non-zero.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import RnnConvertError

EXIT_ERROR = 1
EXIT_USAGE = 2
COMMANDS = ("check", "inspect", "predict")


def _convert_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rnnconvert",
        description="Convert a Keras model (.keras, .h5, or architecture .json + --weights) "
        "into an rnnconvert bundle: OUT_DIR/model.json + OUT_DIR/weights.npz. "
        "Other commands: 'rnnconvert check BUNDLE', 'rnnconvert inspect BUNDLE [--graph FILE]'.",
    )
    p.add_argument("model", help="Keras model file: .keras, .h5, or an architecture .json (with --weights)")
    p.add_argument("out_dir", help="bundle directory to write")
    p.add_argument("--weights", metavar="WEIGHTS_H5", help="weights HDF5 for an architecture JSON")
    p.add_argument("--force", action="store_true", help="replace OUT_DIR if it exists and is not empty")
    p.add_argument(
        "--verify",
        action="store_true",
        help="load the model with Keras (must be installed), store Keras's outputs as test vectors and report the worst difference",
    )
    p.add_argument(
        "--dtype",
        choices=("float32", "float16", "int8"),
        default="float32",
        help="store weight matrices as float32 (exact, default), float16 or int8 with per-channel scales; "
        "computation stays float32 and the error the storage costs is measured and printed",
    )
    p.add_argument("--version", action="version", version=f"rnnconvert {__version__}")
    return p


def _run_convert(argv: Sequence[str]) -> int:
    args = _convert_parser().parse_args(argv)
    from .converter import RnnConvertWarning, convert

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RnnConvertWarning)  # printed in the summary instead
        result = convert(
            args.model, args.out_dir, weights=args.weights, force=args.force, verify=args.verify, dtype=args.dtype
        )
    print(result.summary())
    return 0


def _run_check(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="rnnconvert check", description="Validate a bundle and run its test vectors.")
    p.add_argument("bundle")
    args = p.parse_args(argv)
    from .runtime.model import _validate_schema_if_available, load
    from .runtime.verify import run_vectors

    model = load(args.bundle)
    _validate_schema_if_available(model.doc)
    print(f"{args.bundle}: format {model.format_version}; schema, SHA-256, shapes and dtypes ok")
    from .runtime.quantize import describe

    for line in describe(model.doc):  # weights stored as float16/int8: what that costs
        print(line)
    report = run_vectors(model)
    if report is None:
        print("no test vectors stored")
        return 0
    print("\n".join(report.lines()))
    return 0 if report.ok else EXIT_ERROR


def _run_inspect(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="rnnconvert inspect", description="Summarise a bundle.")
    p.add_argument("bundle")
    p.add_argument("--graph", metavar="FILE", help="write the graph as DOT (or SVG for a .svg name, with Graphviz)")
    args = p.parse_args(argv)
    from .inspect import summary, write_graph
    from .runtime import load

    model = load(args.bundle)
    print(summary(model))
    if args.graph:
        print(f"graph written to {write_graph(model, Path(args.graph))}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # A subcommand name is taken as one only when no file by that name exists.
    command = argv[0] if argv and argv[0] in COMMANDS and not Path(argv[0]).exists() else None
    try:
        if command == "check":
            return _run_check(argv[1:])
        if command == "inspect":
            return _run_inspect(argv[1:])
        if command == "predict":  # minimal hook (batch branch); the subcommand registry replaces it on merge
            from .scoring import command as predict

            p = argparse.ArgumentParser(prog="rnnconvert predict", description=predict.DESCRIPTION)
            predict.add_arguments(p)
            return predict.run(p.parse_args(argv[1:]))
        return _run_convert(argv)
    except RnnConvertError as exc:
        print(f"rnnconvert: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("rnnconvert: interrupted; nothing written", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
