"""The sampler's own error: a design that cannot be delivered as asked.

It is an :class:`~store.errors.InvalidInput` (exit code 2): the operator changes the inputs
(sample size, method, constraints); nothing is drawn and nothing is stored.  A method never
falls back silently to another one: it raises this instead.
"""

from __future__ import annotations

from store.errors import InvalidInput


class DesignInfeasible(InvalidInput):
    """The requested design cannot be delivered (non-integral Σπ, too few units, a
    rejective method that keeps rejecting, a constraint the draw violates, ...)."""
