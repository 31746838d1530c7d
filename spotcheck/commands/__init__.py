"""CLI command groups, one module each; ``spotcheck.cli`` mounts them."""

__all__ = ["campaign", "capture", "case", "crawl", "db", "demo", "doctor", "evidence",
           "listings", "login", "logout", "persona", "plan", "platform", "products", "purchase",
           "report", "risk", "sample", "sandbox", "scheduler", "serve", "signals", "user",
           "whoami"]
