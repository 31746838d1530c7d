"""Where evidence kept its artifact store before it moved to the bottom layer.

The store is :mod:`store.artifacts` (one layout for every package); this name stays for code
written against the old path and is not part of the evidence API.
"""

from store.artifacts import ArtifactStore, Stored

__all__ = ["ArtifactStore", "Stored"]
