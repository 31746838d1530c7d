"""Near-duplicate search over millions of binary hashes: multi-index hashing (MIH).

Why an index: a photo's copies are found by Hamming distance between perceptual hashes
(store.photos), and comparing a query with every stored hash is a scan of the whole
collection per query.  Multi-index hashing (Norouzi, Punjani & Fleet, CVPR 2012) splits each
``bits``-bit code into ``tables`` substrings of ``bits / tables`` bits, each with a table of its
own.  Two codes at most ``r`` bits apart differ in at most ``⌊r / tables⌋`` bits of at least one
substring (pigeonhole), so looking up, in every table, the query's substring and all its
variants with up to ``⌊r / tables⌋`` flipped bits finds every code within ``r`` — exactly, not
approximately — and only those candidates are compared in full.

Two engines give the same answers (tests compare both with brute force on random data):

* ``numpy`` (the default) — per table the rows sorted by substring with the start of each of
  the 2¹⁶ buckets, all flip variants looked up at once, candidates verified with
  ``bitwise_count``;
* ``faiss`` — faiss-cpu's ``IndexBinaryMultiHash`` (C++), the same structure; measured
  slower here (bench/bench_images.py: its hash tables and per-flip loop cost more than the
  numpy bucket offsets), kept as a cross-check and for machines where it wins.

Codes are ``uint8`` arrays of shape ``(n, bits / 8)`` (PDQ: 32 bytes, pHash: 8 bytes); ids are
any ``int64`` the caller chooses (an image row and its crop variant, say).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Bits of one substring: 16 keeps a table's buckets small up to ~10⁸ codes and its flip
#: variants few (137 keys for 2 flips).
SUBSTRING_BITS = 16


@dataclass(frozen=True)
class Hit:
    """A stored code within the radius of a query."""

    id: int
    distance: int


def as_codes(values: list[bytes] | NDArray[np.uint8], nbytes: int) -> NDArray[np.uint8]:
    """Hashes as a ``(n, nbytes)`` uint8 array (a list of bytes, or an array already)."""
    if isinstance(values, np.ndarray):
        arr = np.ascontiguousarray(values, dtype=np.uint8)
    else:
        arr = np.frombuffer(b"".join(values), dtype=np.uint8) if values else \
            np.zeros(0, dtype=np.uint8)
    arr = arr.reshape(-1, nbytes)
    return arr


def hamming_many(codes: NDArray[np.uint8], query: NDArray[np.uint8]) -> NDArray[np.int64]:
    """Hamming distance of *query* (one code) to every row of *codes*."""
    words = codes.shape[1] % 8 == 0  # 64 bits at a time when the codes allow it
    x = codes.view(np.uint64) ^ query.view(np.uint64) if words else codes ^ query
    return np.bitwise_count(x).sum(axis=1, dtype=np.int64)


def brute_force(codes: NDArray[np.uint8], ids: NDArray[np.int64], query: NDArray[np.uint8],
                radius: int) -> list[Hit]:
    """Every code within *radius* of *query*, by comparing with all of them (the reference
    the index is tested against; also the right tool for a few thousand codes)."""
    d = hamming_many(codes, query.reshape(1, -1)[0])
    found = np.nonzero(d <= radius)[0]
    return _sorted_hits(ids[found], d[found])


def _sorted_hits(ids: NDArray[np.int64], dist: NDArray[np.int64]) -> list[Hit]:
    order = np.lexsort((ids, dist))
    return [Hit(int(ids[i]), int(dist[i])) for i in order]


def _flip_masks(bits: int, flips: int) -> NDArray[np.int64]:
    """Every *bits*-bit mask with at most *flips* bits set."""
    masks = [0]
    for k in range(1, flips + 1):
        for combo in itertools.combinations(range(bits), k):
            masks.append(sum(1 << b for b in combo))
    return np.array(masks, dtype=np.int64)


class HammingIndex:
    """Multi-index hashing over ``bits``-bit codes; exact for any radius (more flips are
    enumerated the larger the radius: the index is fastest up to :attr:`fast_radius`)."""

    def __init__(self, bits: int, *, engine: str = "numpy", flips: int = 2) -> None:
        if bits % SUBSTRING_BITS:
            raise ValueError(f"codes of {bits} bits: a multiple of {SUBSTRING_BITS} is needed")
        self.bits = bits
        self.nbytes = bits // 8
        self.tables = bits // SUBSTRING_BITS
        #: Flips per table the index is sized for (searches use as many as their radius needs).
        self.flips = flips
        if engine == "faiss" and _faiss() is None:
            raise ValueError("engine 'faiss' needs faiss-cpu installed")
        if engine not in ("faiss", "numpy"):
            raise ValueError(f"unknown engine {engine!r}")
        self.engine = engine
        self._codes = np.zeros((0, self.nbytes), dtype=np.uint8)
        self._ids = np.zeros(0, dtype=np.int64)
        self._faiss_index = None
        #: Per table: where each substring value's rows start in ``_order`` (2¹⁶ + 1 offsets).
        self._keys: list[NDArray[np.int64]] = []
        self._order: list[NDArray[np.int64]] = []
        self._masks: dict[int, NDArray[np.int64]] = {}

    @property
    def fast_radius(self) -> int:
        """The largest radius found exactly with :attr:`flips` flips per table."""
        return self.tables * (self.flips + 1) - 1

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: NDArray[np.int64] | list[int],
            codes: NDArray[np.uint8] | list[bytes]) -> None:
        """Add codes with their ids (the index is rebuilt for the added rows)."""
        arr = as_codes(codes, self.nbytes)
        id_arr = np.asarray(ids, dtype=np.int64)
        if len(id_arr) != len(arr):
            raise ValueError("as many ids as codes are needed")
        self._codes = np.concatenate([self._codes, arr]) if len(self._codes) else arr.copy()
        self._ids = np.concatenate([self._ids, id_arr]) if len(self._ids) else id_arr.copy()
        self._build()

    def _build(self) -> None:
        if self.engine == "faiss":
            faiss = _faiss()
            assert faiss is not None
            index = faiss.IndexBinaryMultiHash(self.bits, self.tables, SUBSTRING_BITS)
            index.add(self._codes)
            self._faiss_index = index
            return
        self._keys, self._order = [], []
        buckets = np.arange((1 << SUBSTRING_BITS) + 1, dtype=np.int64)
        for t in range(self.tables):
            sub = self._substrings(self._codes, t)
            order = np.argsort(sub, kind="stable")
            # Where each of the 2¹⁶ buckets starts in the sorted order: a lookup is then two
            # array reads, not a binary search.
            self._keys.append(np.searchsorted(sub[order], buckets).astype(np.int64))
            self._order.append(order.astype(np.int64))

    @staticmethod
    def _substrings(codes: NDArray[np.uint8], table: int) -> NDArray[np.int64]:
        """The *table*-th 16-bit substring of every code (bytes 2t, 2t+1, little-endian as
        faiss reads them: byte 2t holds the low bits)."""
        lo = codes[:, 2 * table].astype(np.int64)
        hi = codes[:, 2 * table + 1].astype(np.int64)
        return lo | (hi << 8)

    def search(self, query: bytes | NDArray[np.uint8], radius: int,
               probe: int | None = None) -> list[Hit]:
        """Every stored code within *radius* bits of *query*, nearest first.

        *probe* (default: *radius*) is the radius the tables are probed for: a smaller one
        enumerates fewer flips, so the search costs what a *probe* search costs and is still
        exact up to *probe*; between *probe* and *radius* it finds only the codes that share
        one substring with the query within the probe's flips — most of them (a code 60 bits
        away of 256 has some 16-bit substring within 2 flips with probability ≈ 0.99), which
        is what a first stage of a two-stage search wants (store.photoindex)."""
        q = as_codes([query] if isinstance(query, bytes) else query, self.nbytes)[0]
        if not len(self._ids):
            return []
        # The fewest flips that are still exact for this radius (pigeonhole, see above).
        reach = radius if probe is None else min(probe, radius)
        flips = max(0, -(-(reach + 1) // self.tables) - 1)
        if self.engine == "faiss":
            return self._search_faiss(q, radius, flips)
        return self._search_numpy(q, radius, flips)

    def _search_faiss(self, q: NDArray[np.uint8], radius: int, flips: int) -> list[Hit]:
        index = self._faiss_index
        assert index is not None
        index.nflip = flips
        # faiss's binary range search keeps distances strictly below its radius.
        lims, dist, rows = index.range_search(q.reshape(1, -1), radius + 1)
        rows = rows[lims[0]:lims[1]]
        return _sorted_hits(self._ids[rows], dist[lims[0]:lims[1]].astype(np.int64))

    def _search_numpy(self, q: NDArray[np.uint8], radius: int, flips: int) -> list[Hit]:
        masks = self._masks.get(flips)
        if masks is None:
            masks = self._masks[flips] = _flip_masks(SUBSTRING_BITS, flips)
        found = []
        q2 = q.reshape(1, -1)
        for t in range(self.tables):
            wanted = self._substrings(q2, t)[0] ^ masks
            starts = self._keys[t]
            lo, hi = starts[wanted], starts[wanted + 1]
            nonempty = hi > lo
            if not nonempty.any():
                continue
            lo, hi = lo[nonempty], hi[nonempty]
            # All positions lo..hi-1 of every non-empty bucket, without a Python loop.
            counts = hi - lo
            starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
            positions = starts + np.arange(counts.sum())
            found.append(self._order[t][positions])
        if not found:
            return []
        rows = np.concatenate(found)  # a row found in several tables is verified again:
        d = hamming_many(self._codes[rows], q)  # cheaper than making them unique first
        keep = d <= radius
        rows, first = np.unique(rows[keep], return_index=True)
        return _sorted_hits(self._ids[rows], d[keep][first])


def _faiss() -> Any:
    try:
        import faiss
    except ImportError:
        return None
    return faiss
