"""``python -m pitstop`` runs the CLI."""

from pitstop.cli import main

main()
