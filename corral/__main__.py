"""``python -m corral``: the same as the ``corral`` command (part of the CLI layer)."""

from corral.cli import main

main()
