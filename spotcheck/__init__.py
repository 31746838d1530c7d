"""spotcheck: covert online spot checks and counterfeit investigations of cross-border goods."""

__version__ = "0.1.0"
