"""spotcheck: covert online spot checks and counterfeit investigations of cross-border goods."""

__version__ = "0.1.0"

#: The shell on top of every layer: the CLI (:mod:`spotcheck.cli`, ``spotcheck`` entry point),
#: the web console (:mod:`spotcheck.web`) and the demo.
__all__ = ["__version__", "cli", "demo_steps", "web"]
