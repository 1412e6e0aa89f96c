"""``python -m mlgeom_rs``: the command-line interface (see :mod:`mlgeom_rs.cli`)."""

from .cli import main

raise SystemExit(main())
