"""``rnnconvert predict BUNDLE INPUT OUTPUT``: score a file with a bundle.

The subcommand's contract with the CLI: ``DESCRIPTION``, ``add_arguments(parser)``, ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from .engine import Options, score_file

DESCRIPTION = (
    "Score a file with a bundle: .npy (one input), .npz keyed by input names, Parquet (a column per input) "
    "or JSON Lines (an object per row; a string, or a list of strings, for a text input); OUTPUT in any of these formats, rows in input order. "
    "OUTPUT is written to a temporary file and renamed into place at the end."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("bundle", help="bundle directory (model.json + weights.npz)")
    p.add_argument("input", help="input file: .npy, .npz, .parquet or .jsonl")
    p.add_argument("output", help="output file: .npy (one output), .npz, .parquet or .jsonl")
    p.add_argument("--batch-size", type=int, default=256, help="rows per model call (default 256)")
    p.add_argument("--maxlen", type=int, help="pad/truncate sequences to this length (as Keras pad_sequences)")
    p.add_argument("--padding", choices=("pre", "post"), default="pre", help="pad before or after (default pre)")
    p.add_argument("--truncating", choices=("pre", "post"), default="pre", help="cut from the start or the end")
    p.add_argument("--value", type=float, default=0.0, help="the padding value (default 0)")
    p.add_argument(
        "--bucket",
        action="store_true",
        help="sort rows by length and pad each batch only to its longest row; for masked models, "
        "whose numbers do not change (refused otherwise); rows come back in input order",
    )
    p.add_argument("--workers", type=int, default=1, help="worker processes, each loading the bundle once")
    p.add_argument(
        "--on-error",
        choices=("stop", "skip"),
        default="stop",
        help="a bad row stops the run naming its row and column (stop), or is written to the rejects file (skip)",
    )
    p.add_argument("--rejects", metavar="PATH", help="rejects file for --on-error skip (default OUTPUT.rejects.jsonl)")
    p.add_argument("--input-format", choices=("npy", "npz", "parquet", "jsonl"), help="instead of the extension")
    p.add_argument("--output-format", choices=("npy", "npz", "parquet", "jsonl"), help="instead of the extension")
    p.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="run on a Dask cluster (tcp://host:8786): Parquet in, a directory of Parquet partitions out",
    )
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    bar.add_argument("--progress", action="store_true", help="a progress bar even when stderr is not a terminal")


def _options(args: argparse.Namespace) -> Options:
    return Options(
        batch_size=args.batch_size,
        maxlen=args.maxlen,
        padding=args.padding,
        truncating=args.truncating,
        value=args.value,
        bucket=args.bucket,
        workers=args.workers,
        on_error=args.on_error,
        rejects=args.rejects,
        progress=False if args.quiet else (True if args.progress else None),
        input_format=args.input_format,
        output_format=args.output_format,
    )


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C: no partial OUTPUT


def run(args: argparse.Namespace) -> int:
    """Run ``rnnconvert predict``; errors propagate as RnnConvertError for the CLI to print."""
    opts = _options(args)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        if args.dask_scheduler:
            from ..dask import score_parquet

            report = score_parquet(args.bundle, args.input, args.output, opts, scheduler=args.dask_scheduler)
        else:
            report = score_file(args.bundle, args.input, args.output, opts)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not args.quiet:
        rate = report.written / report.seconds if report.seconds else 0.0
        print(f"wrote {args.output}: {report.written:,} rows ({rate:,.0f} rows/s)", file=sys.stderr)
        if report.note:
            print(f"note: {report.note}", file=sys.stderr)
        if report.rejected:
            print(f"rejected {report.rejected:,} bad row(s): see {report.rejects_path}", file=sys.stderr)
    return 0
