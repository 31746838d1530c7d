"""The sandbox's platform styles: a mall, a single-page app, an independent shop."""

__all__ = ["mall", "shop", "spa"]
