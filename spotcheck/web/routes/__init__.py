"""Console routes, one module per area."""
