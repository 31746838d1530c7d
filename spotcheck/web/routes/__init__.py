"""Console routes, one module per area."""

__all__ = ["auth", "boards", "campaigns", "case_actions", "evidence", "leads", "listings",
           "matches", "personas", "planning", "products", "purchasing"]
