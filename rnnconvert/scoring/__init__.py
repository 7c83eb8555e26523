"""Batch scoring: ``rnnconvert predict BUNDLE INPUT OUTPUT`` and its Python entry point.

Example:
    >>> from rnnconvert.scoring import Options, score_file
    >>> report = score_file("bundle/", "in.parquet", "out.parquet", Options(workers=2))  # doctest: +SKIP
"""

from __future__ import annotations

from .engine import Options, Report, score_file

__all__ = ["Options", "Report", "score_file"]
