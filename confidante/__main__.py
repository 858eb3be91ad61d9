"""``python -m confidante`` runs the CLI."""

from confidante.cli import main

main()
