"""The ``rnnconvert`` command line.

    rnnconvert MODEL OUT_DIR [--weights WEIGHTS_H5] [--force]

Errors print as one line on stderr (no traceback) and exit non-zero.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from . import __version__
from .errors import RnnConvertError

EXIT_ERROR = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rnnconvert",
        description="Convert a Keras model (.keras, .h5, or architecture .json + --weights) "
        "into an rnnconvert bundle: OUT_DIR/model.json + OUT_DIR/weights.npz.",
    )
    p.add_argument("model", help="Keras model file: .keras, .h5, or an architecture .json (with --weights)")
    p.add_argument("out_dir", help="bundle directory to write")
    p.add_argument("--weights", metavar="WEIGHTS_H5", help="weights HDF5 for an architecture JSON")
    p.add_argument("--force", action="store_true", help="replace OUT_DIR if it exists and is not empty")
    p.add_argument("--version", action="version", version=f"rnnconvert {__version__}")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .converter import RnnConvertWarning, convert

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RnnConvertWarning)  # printed in the summary instead
            result = convert(args.model, args.out_dir, weights=args.weights, force=args.force)
    except RnnConvertError as exc:
        print(f"rnnconvert: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("rnnconvert: interrupted; nothing written", file=sys.stderr)
        return 130
    print(result.summary())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
