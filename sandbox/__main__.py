"""``python -m sandbox`` runs the sandbox CLI."""

from sandbox.cli import main

main()
