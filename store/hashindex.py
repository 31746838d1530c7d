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
        #: Per table: where each substring value's rows start in ``_order_flat`` (2¹⁶ + 1
        #: offsets per table, flattened), and the codes as columns of words.
        self._starts = np.zeros(0, dtype=np.int64)
        self._order_flat = np.zeros(0, dtype=np.int64)
        self._cols = np.zeros((0, 0), dtype=np.uint64)
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
        n = len(self._codes)
        # All tables in one pair of flat arrays, so that a search looks up every table's
        # buckets at once (one numpy call per step, not one per table): table t's bucket
        # starts are ``_starts[t · (2¹⁶ + 1) + value]``, positions into ``_order[t · n:]``.
        starts = np.empty((self.tables, (1 << SUBSTRING_BITS) + 1), dtype=np.int64)
        order = np.empty((self.tables, n), dtype=np.int64)
        for t in range(self.tables):
            sub = _substrings16(self._codes, t)
            order[t] = np.argsort(sub, kind="stable")  # radix sort on 16-bit keys
            starts[t, 0] = 0
            np.cumsum(np.bincount(sub, minlength=1 << SUBSTRING_BITS), out=starts[t, 1:])
            starts[t] += t * n
        self._starts = starts.ravel()
        self._order_flat = order.ravel()
        self._cols = np.ascontiguousarray(self._codes.view(
            np.uint64 if self.nbytes % 8 == 0 else np.uint8).T)

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
        subs = np.ascontiguousarray(q[:2 * self.tables]).view("<u2").astype(np.int64)
        # Every table's bucket of every flip variant at once.
        keys = ((subs[:, None] ^ masks[None, :])
                + np.arange(self.tables, dtype=np.int64)[:, None] * ((1 << SUBSTRING_BITS) + 1)
                ).ravel()
        lo, hi = self._starts[keys], self._starts[keys + 1]
        counts = hi - lo
        total = int(counts.sum())
        if not total:
            return []
        # All positions lo..hi-1 of every bucket, without a Python loop.
        positions = np.repeat(lo - np.cumsum(counts) + counts, counts) + \
            np.arange(total, dtype=np.int64)
        rows = self._order_flat[positions]  # a row found in several tables is verified
        word = np.uint64 if self.nbytes % 8 == 0 else np.uint8  # again: cheaper than unique
        qw = q.view(word)
        d = np.bitwise_count(self._cols[0][rows] ^ qw[0]).astype(np.int64)
        for w in range(1, len(qw)):
            d += np.bitwise_count(self._cols[w][rows] ^ qw[w])
        keep = d <= radius
        rows, first = np.unique(rows[keep], return_index=True)
        return _sorted_hits(self._ids[rows], d[keep][first])


def _faiss() -> Any:
    try:
        import faiss
    except ImportError:
        return None
    return faiss


# -- bulk self-join ---------------------------------------------------------------------------

#: Candidate pairs verified per batch of a join (bounds its memory: ~200 bytes a candidate).
JOIN_BATCH = 2_000_000


def substring_counts(codes: NDArray[np.uint8]) -> NDArray[np.int64]:
    """How many of *codes* hold each 16-bit substring value, per table: ``(tables, 2¹⁶)``."""
    tables = codes.shape[1] * 8 // SUBSTRING_BITS
    out = np.zeros((tables, 1 << SUBSTRING_BITS), dtype=np.int64)
    for t in range(tables):
        out[t] = np.bincount(HammingIndex._substrings(codes, t), minlength=1 << SUBSTRING_BITS)
    return out


def _substrings16(codes: NDArray[np.uint8], table: int) -> NDArray[np.uint16]:
    """:meth:`HammingIndex._substrings` as 16-bit numbers (sorted by radix, a quarter the
    memory of 64-bit ones)."""
    return np.ascontiguousarray(codes[:, 2 * table:2 * table + 2]).view("<u2").ravel()


def join(queries: NDArray[np.uint8], stored: NDArray[np.uint8], radius: int, *,
         flips: int = 0, max_bucket: int | None = None,
         groups: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None,
         counts: NDArray[np.int64] | None = None,
         batch: int = JOIN_BATCH) -> tuple[NDArray[np.int64], NDArray[np.int64],
                                           NDArray[np.int64]]:
    """Every (query row, stored row) within *radius* bits that agree on at least one 16-bit
    substring up to *flips* bits — all queries at once, not one search each.

    Why: linking every photo of a large store to its copies is a self-join, and a million
    separate searches (one Python call each) cost hours.  Here, per table, the stored codes are
    bucketed by substring (one sort), each query's bucket (and its flip variants) is read as a
    range, the candidate pairs of a batch of queries are laid out with ``repeat``, and their full
    distances verified at once (XOR and ``bitwise_count`` on 64-bit words); a pair found in
    several tables is kept once.

    Which pairs: with ``flips = f`` every pair within ``tables · (f + 1) − 1`` bits is found
    (pigeonhole, as for :meth:`HammingIndex.search`) and most farther ones up to *radius* (those
    with one substring within *f* flips).  A stored bucket holding more than *max_bucket* codes
    is not read (its pairs are found through the codes' other substrings if any is rarer): in a
    store of product photos such a bucket is one picture copied thousands of times — a brand's
    official photo — whose pairs would cost the square of its count.  *counts* (from
    :func:`substring_counts`) decides which buckets are giant; default: those of *stored*.

    *groups* (a group per query row, one per stored row) leaves out pairs inside one group (a
    photo and its own crop variants).  Returns ``(query rows, stored rows, distances)`` sorted by
    query row, then stored row."""
    nbytes = stored.shape[1]
    tables = nbytes * 8 // SUBSTRING_BITS
    empty = np.zeros(0, dtype=np.int64)
    if not len(queries) or not len(stored):
        return empty, empty, empty
    # Column-major words: a 1-D gather per word is cheaper than one of rows, and summing
    # word counts column by column cheaper than a reduction along rows.
    word = np.uint64 if nbytes % 8 == 0 else np.uint8
    q_cols = np.ascontiguousarray(queries.view(word).T)
    s_cols = np.ascontiguousarray(stored.view(word).T)
    masks = _flip_masks(SUBSTRING_BITS, flips)
    found_q, found_s, found_d = [], [], []
    for t in range(tables):
        sub_s = _substrings16(stored, t)
        order = np.argsort(sub_s, kind="stable")  # a radix sort on 16-bit keys
        sizes = np.bincount(sub_s, minlength=1 << SUBSTRING_BITS)
        del sub_s
        starts = np.concatenate([[0], np.cumsum(sizes)])
        giant = (counts[t] if counts is not None else sizes) > (max_bucket or len(stored))
        # The stored words in bucket order: a query's candidates are then one contiguous run,
        # and queries taken in bucket order too read memory front to back, not at random.
        s_sorted = s_cols[:, order]
        sub_q = _substrings16(queries, t)
        for mask in masks:
            want = sub_q ^ np.uint16(mask)
            q_order = np.argsort(want, kind="stable")
            want = want[q_order]
            lo = starts[want]
            n = np.where(giant[want], 0, sizes[want])
            ends = np.cumsum(n)
            q_sorted = q_cols[:, q_order]
            first = 0
            while first < len(queries):
                # The queries of this batch: as many as fit *batch* candidates (at least one).
                last = max(first + 1, int(np.searchsorted(ends, (ends[first - 1] if first
                                                                 else 0) + batch, "right")))
                c = n[first:last]
                total = int(c.sum())
                if total:
                    qk = np.repeat(np.arange(first, last, dtype=np.int64), c)
                    pos = np.repeat(lo[first:last] - np.cumsum(c) + c, c) + \
                        np.arange(total, dtype=np.int64)
                    d = np.bitwise_count(q_sorted[0][qk] ^ s_sorted[0][pos]).astype(np.int16)
                    for w in range(1, len(q_cols)):
                        d += np.bitwise_count(q_sorted[w][qk] ^ s_sorted[w][pos])
                    keep = np.nonzero(d <= radius)[0]
                    qi, si = q_order[qk[keep]], order[pos[keep]]
                    if groups is not None:
                        other = groups[0][qi] != groups[1][si]
                        qi, si, keep = qi[other], si[other], keep[other]
                    found_q.append(qi)
                    found_s.append(si)
                    found_d.append(d[keep].astype(np.int64))
                first = last
        del s_sorted
    if not found_q:
        return empty, empty, empty
    qi, si, d = np.concatenate(found_q), np.concatenate(found_s), np.concatenate(found_d)
    key = qi * len(stored) + si
    key, first_at = np.unique(key, return_index=True)  # sorted by (query row, stored row)
    return qi[first_at], si[first_at], d[first_at]


def join_brute_force(queries: NDArray[np.uint8], stored: NDArray[np.uint8], radius: int, *,
                     flips: int = 0, max_bucket: int | None = None
                     ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """What :func:`join` returns, by comparing every query with every stored code and testing
    the substring rule on each pair (the reference the join is tested against)."""
    tables = stored.shape[1] * 8 // SUBSTRING_BITS
    counts = substring_counts(stored)
    out_q, out_s, out_d = [], [], []
    subs_s = np.stack([HammingIndex._substrings(stored, t) for t in range(tables)])
    for i, q in enumerate(queries):
        d = hamming_many(stored, q)
        near = d <= radius
        shared = np.zeros(len(stored), dtype=bool)
        for t in range(tables):
            qs = HammingIndex._substrings(q.reshape(1, -1), t)[0]
            ok = np.bitwise_count(subs_s[t] ^ qs) <= flips
            ok &= counts[t][subs_s[t]] <= (max_bucket or len(stored))
            shared |= ok
        rows = np.nonzero(near & shared)[0]
        out_q.append(np.full(len(rows), i, dtype=np.int64))
        out_s.append(rows.astype(np.int64))
        out_d.append(d[rows])
    return np.concatenate(out_q), np.concatenate(out_s), np.concatenate(out_d)
