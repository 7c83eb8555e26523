"""The ``rnnconvert`` command line: a few subcommands from one registry.

    rnnconvert convert MODEL OUT_DIR [--weights WEIGHTS_H5] [--force] [--verify] [--dtype float32|float16|int8]
                       [--metadata FILE.json]
    rnnconvert check BUNDLE_DIR
    rnnconvert inspect BUNDLE_DIR [--graph FILE]
    rnnconvert MODEL OUT_DIR ...        (shorthand for ``convert``, when MODEL is not a command name)

A first word that names a command is always that command, whatever files the
working directory holds: ``rnnconvert convert check out/`` converts a file named
``check``. Errors print as one line on stderr (no traceback) and exit 1; text from
files is escaped (display.printable).

Adding a command is one entry in :data:`COMMANDS`: a module with
``add_arguments(parser)``, ``run(args) -> int`` and ``DESCRIPTION``, named with
:meth:`Command.from_module`, or a :class:`Command` built from functions.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .display import printable
from .errors import RnnConvertError

EXIT_ERROR = 1
EXIT_USAGE = 2


@dataclass(frozen=True)
class Command:
    """One subcommand: its one-line help, and how to parse and run it."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str | Callable[[], str] = ""

    @classmethod
    def from_module(cls, module: str, help: str) -> Command:
        """A command living in ``module`` (``add_arguments``, ``run``, ``DESCRIPTION``), imported when used."""

        def load() -> Any:
            return importlib.import_module(module)

        return cls(
            help=help,
            add_arguments=lambda parser: load().add_arguments(parser),
            run=lambda args: int(load().run(args)),
            description=lambda: str(load().DESCRIPTION),
        )

    def parser(self, prog: str, usage: str | None = None) -> argparse.ArgumentParser:
        text = self.description() if callable(self.description) else self.description
        p = argparse.ArgumentParser(prog=prog, usage=usage, description=text or self.help)
        self.add_arguments(p)
        return p


# ---- convert ------------------------------------------------------------------------------


def _convert_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "model",
        metavar="MODEL",
        help="Keras model: a .keras or .h5 file, an architecture .json (with --weights), or a tf.keras SavedModel folder",
    )
    p.add_argument("out_dir", metavar="OUT_DIR", help="bundle directory to write")
    p.add_argument("--weights", metavar="WEIGHTS_H5", help="weights HDF5 for an architecture JSON")
    p.add_argument("--force", action="store_true", help="replace OUT_DIR if it exists and is not empty")
    p.add_argument(
        "--verify",
        action="store_true",
        help="load the model with Keras too (Keras must be installed: tensorflow for Keras 3 files, tf-keras "
        "for Keras 2 ones), store Keras's outputs as test vectors and report the worst difference",
    )
    p.add_argument(
        "--dtype",
        choices=("float32", "float16", "int8"),
        default="float32",
        help="store weight matrices as float32 (exact, default), float16 or int8 with per-channel scales; "
        "computation stays float32 and the error the storage costs is measured and printed",
    )
    p.add_argument(
        "--metadata",
        metavar="FILE.json",
        help="a JSON object (a vocabulary, label names, ...) to store in the bundle; model.metadata returns it",
    )


def _run_convert(args: argparse.Namespace) -> int:
    from .converter import ConversionResult, RnnConvertWarning, convert
    from .converter.keras_import import native_stderr_silenced, quiet_tensorflow_logs

    def go() -> ConversionResult:
        return convert(
            args.model,
            args.out_dir,
            weights=args.weights,
            force=args.force,
            verify=args.verify,
            dtype=args.dtype,
            metadata=args.metadata,
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RnnConvertWarning)  # printed in the summary instead
        if args.verify and os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3") not in ("0", "1"):
            quiet_tensorflow_logs()
            with native_stderr_silenced():  # TensorFlow logs some lines before its log level applies
                result = go()
        else:
            result = go()
    print(result.summary())
    return 0


# ---- check --------------------------------------------------------------------------------


def _bundle_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("bundle", metavar="BUNDLE_DIR", help="bundle directory (holding model.json and weights.npz)")


def _schema_status(doc: dict[str, Any]) -> str:
    """Validate against the JSON Schema when jsonschema is installed; say which happened."""
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        return "schema: not checked (jsonschema not installed)"
    from .schema import validate

    validate(doc)
    return "schema ok"


def _run_check(args: argparse.Namespace) -> int:
    from .runtime import load
    from .runtime.quantize import describe
    from .runtime.verify import run_vectors

    model = load(args.bundle)
    schema = _schema_status(model.doc)
    print(f"{printable(args.bundle)}: format {model.format_version}; SHA-256, shapes and dtypes ok; {schema}")
    for line in describe(model.doc):  # weights stored as float16/int8: what that costs
        print(printable(line))
    report = run_vectors(model)
    if report is None:
        print("no test vectors stored")
        return 0
    for line in report.lines():
        print(printable(line))
    return 0 if report.ok else EXIT_ERROR


# ---- inspect ------------------------------------------------------------------------------


def _inspect_arguments(p: argparse.ArgumentParser) -> None:
    _bundle_argument(p)
    p.add_argument("--graph", metavar="FILE", help="write the graph as DOT (or SVG for a .svg name, with Graphviz)")


def _run_inspect(args: argparse.Namespace) -> int:
    from .runtime import load
    from .summary import summary, write_graph

    model = load(args.bundle)
    print(summary(model))
    if args.graph:
        print(f"graph written to {printable(write_graph(model, Path(args.graph)))}")
    return 0


# ---- the registry -------------------------------------------------------------------------

COMMANDS: dict[str, Command] = {
    "convert": Command(
        help="convert a Keras model (.keras, .h5, architecture .json + --weights, SavedModel folder) into a bundle",
        add_arguments=_convert_arguments,
        run=_run_convert,
        description="Convert a Keras model (.keras, .h5, architecture .json + --weights, or a tf.keras SavedModel "
        "folder) into an rnnconvert "
        "bundle: OUT_DIR/model.json + OUT_DIR/weights.npz. 'rnnconvert MODEL OUT_DIR' is the same command.",
    ),
    "check": Command(
        help="validate a bundle and run its test vectors",
        add_arguments=_bundle_argument,
        run=_run_check,
        description="Validate a bundle (schema, SHA-256, shapes, dtypes) and run its stored test vectors; "
        "exits 1 on a mismatch.",
    ),
    "inspect": Command(
        help="summarise a bundle like Keras's model.summary(); write its graph",
        add_arguments=_inspect_arguments,
        run=_run_inspect,
    ),
    "predict": Command.from_module(
        "rnnconvert.scoring.command", help="score a file of inputs (.npy, .npz, .parquet, .jsonl) with a bundle"
    ),
}


def _usage() -> str:
    names = ",".join(COMMANDS)
    return f"rnnconvert {{{names}}} ...\n       rnnconvert MODEL OUT_DIR [convert options]"


def _help() -> str:
    width = max(map(len, COMMANDS))
    lines = [
        f"usage: {_usage()}",
        "",
        "Convert Keras recurrent models to rnnconvert bundles (model.json + weights.npz); check, inspect and score with them.",
        "",
        "commands:",
        *(f"  {name.ljust(width)}  {cmd.help}" for name, cmd in COMMANDS.items()),
        "",
        "'rnnconvert MODEL OUT_DIR' is short for 'rnnconvert convert MODEL OUT_DIR' when MODEL is not a command",
        "name. 'rnnconvert COMMAND -h' shows a command's options.",
    ]
    return "\n".join(lines)


def _parse(argv: list[str]) -> tuple[Command, argparse.Namespace]:
    """The command ``argv`` names and its parsed arguments; argparse exits on a usage error."""
    if argv and argv[0] in COMMANDS:
        name = argv[0]
        return COMMANDS[name], COMMANDS[name].parser(f"rnnconvert {name}").parse_args(argv[1:])
    if not argv or argv[0] in ("-h", "--help"):
        print(_help(), file=sys.stdout if argv else sys.stderr)
        raise SystemExit(0 if argv else EXIT_USAGE)
    if argv[0] == "--version":
        print(f"rnnconvert {__version__}")
        raise SystemExit(0)
    near = difflib.get_close_matches(argv[0], COMMANDS, n=1, cutoff=0.75)
    if near and not Path(argv[0]).exists():
        print(
            f"usage: {_usage()}\nrnnconvert: error: no command or file {argv[0]!r}; did you mean "
            f"'rnnconvert {near[0]}'?",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_USAGE)
    convert = COMMANDS["convert"]
    return convert, convert.parser("rnnconvert", usage=_usage()).parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error, 2 usage)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):  # a name no encoding can print must not crash the print
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    command, args = _parse(argv)
    try:
        return command.run(args)
    except RnnConvertError as exc:
        print(f"rnnconvert: error: {printable(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("rnnconvert: interrupted; nothing written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`rnnconvert inspect out/ | head`): stop quietly
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush cannot fail
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
