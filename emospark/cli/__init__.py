"""The ``emospark`` command line (see :mod:`emospark.cli.main`)."""
from .main import build_parser, main

__all__ = ["build_parser", "main"]
