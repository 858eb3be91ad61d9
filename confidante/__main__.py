"""``python -m confidante`` runs the CLI."""

from confidante.cli.app import main

main()
