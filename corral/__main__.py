"""``python -m corral``: the same as the ``corral`` command."""

from corral._cli import main

main()
