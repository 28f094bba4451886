"""Allows `python -m digitlab ...`, the same as the `digitlab` command."""

from digitlab.cli import console_main

console_main()
