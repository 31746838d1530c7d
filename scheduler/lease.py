"""The scheduler's lease: one active scheduler per database (:class:`store.leases.Lease` named
``scheduler``).  The lease machinery lives in :mod:`store.leases`, shared with crawl runs."""

from store.leases import LEASE_NAME, Lease, holder_is_dead, make_holder

__all__ = ["LEASE_NAME", "Lease", "holder_is_dead", "make_holder"]
