"""``python -m emospark``: the same as the ``emospark`` command (see :mod:`emospark.cli`)."""
from .cli.main import main

raise SystemExit(main())
