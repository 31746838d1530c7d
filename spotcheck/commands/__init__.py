"""CLI command groups, one module each; ``spotcheck.cli`` mounts them."""
