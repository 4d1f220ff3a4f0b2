"""Runs: the run manager, the one dispatcher, runner channels, tokens, limits and dry runs."""
