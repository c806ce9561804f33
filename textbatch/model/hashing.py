"""Texts to hashed word n-gram counts, vectorised in numpy over the bytes of a whole batch.

The tokenizer of the `nbsvm` model. A token is a run of word bytes (ASCII letters and digits,
'_', and every byte of a non-ASCII character) or one ASCII punctuation mark, after lower-casing;
ASCII whitespace and control characters separate tokens. Each token, and each run of 2..n
adjacent tokens of the same text, is hashed to 64 bits (a polynomial hash of the bytes taken
from prefix sums, then a mixing step) and reduced to one of `buckets` columns. No Python code
runs per token or per byte: a batch costs a few numpy passes over its bytes, so this runs
several times faster than a regular expression and a vocabulary lookup.

Saved as JSON with the model (`transformer.json`); a loaded featurizer gives the same columns
on every machine (fixed constants, no per-process hash seed).

`tokens="words"` keeps only the word tokens of two or more bytes (scikit-learn's default token
pattern, near enough): no punctuation marks, no one-letter words. Better for finding similar
texts (knn), worse for sentiment, where "!" and ":)" carry meaning (measured:
docs/benchmarks.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from textbatch.errors import ArtifactError

FORMAT = "textbatch.hashing/1"
TOKENS = ("all", "words")
_P = np.uint64(0x100000001B3)  # odd: invertible modulo 2**64
_P_INVERSE = np.uint64(pow(0x100000001B3, -1, 2**64))
_Q = np.uint64(0x9E3779B97F4A7C15)  # combines the hashes of adjacent tokens

# byte -> 0 separator, 1 word, 2 punctuation
_CLASS = np.zeros(256, dtype=np.uint8)
_CLASS[[ord(c) for c in "abcdefghijklmnopqrstuvwxyz0123456789_"]] = 1
_CLASS[0x80:] = 1
_CLASS[[ord(c) for c in "!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~"]] = 2

_CACHED_POWERS = 1 << 22  # 2 x 32 MiB at most kept between batches (a batch of 4 MB text)
_powers = np.ones(1, dtype=np.uint64)
_inverse_powers = np.ones(1, dtype=np.uint64)


def _power_tables(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P**i and P**-i modulo 2**64 for i < n: kept between batches up to _CACHED_POWERS,
    made for the batch alone beyond (one huge field must not leave the process large)."""
    global _powers, _inverse_powers
    if len(_powers) >= n:
        return _powers[:n], _inverse_powers[:n]
    size = min(max(n, 2 * len(_powers)), _CACHED_POWERS) if n <= _CACHED_POWERS else n
    one = np.ones(1, dtype=np.uint64)
    powers = np.concatenate([one, np.cumprod(np.full(size - 1, _P, dtype=np.uint64))])
    inverse = np.concatenate([one, np.cumprod(np.full(size - 1, _P_INVERSE, dtype=np.uint64))])
    if size <= _CACHED_POWERS:
        _powers, _inverse_powers = powers, inverse
    return powers[:n], inverse[:n]


def _mix(h: np.ndarray) -> np.ndarray:
    """A 64-bit finaliser (murmur3's): every input bit reaches every output bit."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


@dataclass(frozen=True)
class Counts:
    """Distinct (row, column) pairs of a batch, sorted by row then column, with their counts."""

    n_rows: int
    row: np.ndarray  # int64
    column: np.ndarray  # int64
    count: np.ndarray  # float32

    def subset(self, rows: np.ndarray) -> Counts:
        """The pairs of these rows, renumbered 0.. in the order given."""
        where = np.full(self.n_rows, -1, dtype=np.int64)
        where[rows] = np.arange(len(rows))
        keep = where[self.row] >= 0
        renumbered = where[self.row[keep]]
        order = np.argsort(renumbered, kind="stable")
        return Counts(
            len(rows), renumbered[order], self.column[keep][order], self.count[keep][order]
        )


@dataclass(frozen=True)
class _Tokens:
    data: bytes  # the batch's texts, lower-cased, UTF-8, each ended by NUL
    starts: np.ndarray  # each token's first byte
    ends: np.ndarray  # and the byte after its last
    hashes: np.ndarray  # uint64
    rows: np.ndarray  # each token's text


class NgramSpans:
    """The text of the n-grams behind a batch's (row, column) pairs: the first occurrence in
    the row of an n-gram hashed to that column, as written (lower-cased). The model keeps no
    vocabulary; the row's own tokens name its features."""

    def __init__(self, buckets: int, tokens: _Tokens, keys: list[tuple[np.ndarray, np.ndarray]]):
        self.buckets = buckets
        self.bits = buckets.bit_length() - 1
        self.tokens = tokens
        self.keys = keys

    def spans(self, rows: np.ndarray, columns: np.ndarray, *, limit: int = 40) -> list[str]:
        """The n-gram of each (row, column) pair of the batch (each pair must be one of its)."""
        wanted = rows.astype(np.uint32) << np.uint32(self.bits) | columns.astype(np.uint32)
        order = np.argsort(wanted)
        ranked = wanted[order]
        # a first pass on the column alone (a table lookup per key) leaves the few keys whose
        # column is wanted; only those are matched against the wanted pairs
        table = np.zeros(self.buckets, dtype=bool)
        table[columns] = True
        mask = np.uint32(self.buckets - 1)
        first_token = np.full(len(wanted), -1, dtype=np.int64)
        length = np.zeros(len(wanted), dtype=np.int64)
        for n, (keys, token_at) in enumerate(self.keys, start=1):
            maybe = np.flatnonzero(table[keys & mask])
            if not len(maybe) or not len(ranked):
                continue
            at = np.searchsorted(ranked, keys[maybe]).clip(max=len(ranked) - 1)
            hit = np.flatnonzero(ranked[at] == keys[maybe])[::-1]  # reversed: the first wins
            slots = order[at[hit]]
            fresh = first_token[slots] < 0  # shorter n-grams were placed first
            first_token[slots[fresh]] = token_at[maybe[hit[fresh]]]
            length[slots[fresh]] = n
        out = []
        t = self.tokens
        for start, n in zip(first_token.tolist(), length.tolist(), strict=True):
            if start < 0:
                out.append("")
                continue
            text = t.data[t.starts[start] : t.ends[start + n - 1]].decode("utf-8", "replace")
            out.append(" ".join(text.split())[:limit])
        return out


@dataclass(frozen=True)
class HashingFeaturizer:
    ngrams: int = 2  # longest run of adjacent tokens hashed (1: single tokens only)
    buckets: int = 1 << 22  # a power of two
    tokens: str = "all"  # TOKENS: every token, or "words" (2+ bytes, no punctuation)

    def __post_init__(self) -> None:
        if self.tokens not in TOKENS:
            raise ValueError(f"tokens must be one of {', '.join(TOKENS)}, not {self.tokens!r}")
        if self.buckets & (self.buckets - 1) or not 0 < self.buckets <= 1 << 31:
            raise ValueError(f"buckets must be a power of two up to 2**31, not {self.buckets}")
        if self.ngrams < 1:
            raise ValueError("ngrams must be at least 1")

    def token_hashes(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The 64-bit hash and the row of every token of `texts`, in order."""
        tokens = self._tokens(texts)
        return tokens.hashes, tokens.rows

    def _tokens(self, texts: list[str]) -> _Tokens:
        joined = "\0".join(texts)
        if joined.count("\0") != len(texts) - 1:  # a text holds NUL, which separates texts
            joined = "\0".join(t.replace("\0", " ") for t in texts)
        data = joined.lower().encode("utf-8", "surrogatepass") + b"\0"
        raw = np.frombuffer(data, dtype=np.uint8)
        text_ends = np.flatnonzero(raw == 0)[: len(texts)] if texts else np.zeros(0, np.int64)
        kind = _CLASS[raw]
        word = kind == 1
        before = np.concatenate([[False], word[:-1]])
        after = np.concatenate([word[1:], [False]])
        punct = kind == 2
        starts = np.flatnonzero((word & ~before) | punct)
        ends = np.flatnonzero((word & ~after) | punct) + 1
        if self.tokens == "words":
            kept = (kind[starts] == 1) & (ends - starts >= 2)
            starts, ends = starts[kept], ends[kept]
        powers, inverse = _power_tables(len(raw) + 1)
        prefix = np.zeros(len(raw) + 1, dtype=np.uint64)
        np.cumsum(raw.astype(np.uint64) * powers[: len(raw)], out=prefix[1:])
        hashes = _mix((prefix[ends] - prefix[starts]) * inverse[starts])
        rows = np.searchsorted(text_ends, starts)
        return _Tokens(data, starts, ends, hashes, rows)

    def _keys(self, tokens: _Tokens) -> list[tuple[np.ndarray, np.ndarray]]:
        """For n = 1..ngrams: the (row << bits | column) key of every n-gram of the batch
        (32-bit: at most 2**(32 - bits) rows) and the index of its first token."""
        bits = self.buckets.bit_length() - 1
        mask, shift = np.uint64(self.buckets - 1), np.uint32(bits)
        hashes = tokens.hashes
        rows32 = tokens.rows.astype(np.uint32)
        keys = [(rows32 << shift | (hashes & mask).astype(np.uint32), np.arange(len(hashes)))]
        gram = hashes
        for n in range(2, self.ngrams + 1):
            gram = _mix(gram[:-1] * _Q + hashes[n - 1 :])
            same = rows32[: len(gram)] == rows32[n - 1 :]
            keys.append(
                (
                    rows32[: len(gram)][same] << shift | (gram[same] & mask).astype(np.uint32),
                    np.flatnonzero(same),
                )
            )
        return keys

    def _step(self) -> int:
        """Rows whose (row, column) keys fit 32 bits: a faster sort."""
        return 1 << (32 - (self.buckets.bit_length() - 1))

    def counts(self, texts: list[str]) -> Counts:
        """Each text's n-gram columns and how often each occurs in it."""
        step = self._step()
        if len(texts) > step:
            parts = [self.counts(texts[i : i + step]) for i in range(0, len(texts), step)]
            offsets = np.cumsum([0] + [p.n_rows for p in parts[:-1]])
            return Counts(
                n_rows=len(texts),
                row=np.concatenate([p.row + o for p, o in zip(parts, offsets, strict=True)]),
                column=np.concatenate([p.column for p in parts]),
                count=np.concatenate([p.count for p in parts]),
            )
        return self._counts(texts, self._keys(self._tokens(texts)))

    def _counts(self, texts: list[str], keys: list[tuple[np.ndarray, np.ndarray]]) -> Counts:
        bits = self.buckets.bit_length() - 1
        unique, count = np.unique(np.concatenate([k for k, _ in keys]), return_counts=True)
        return Counts(
            n_rows=len(texts),
            row=(unique >> np.uint32(bits)).astype(np.int64),
            column=(unique & np.uint32(self.buckets - 1)).astype(np.int64),
            count=count.astype(np.float32),
        )

    def counts_and_spans(self, texts: list[str]) -> tuple[Counts, NgramSpans]:
        """counts(texts), and what spans() needs to name the n-grams behind any of its pairs
        (for a batch of at most 2**(32 - bits) texts, as the predict job's chunks are)."""
        if len(texts) > self._step():
            raise ValueError(f"at most {self._step()} texts a batch")
        tokens = self._tokens(texts)
        keys = self._keys(tokens)
        return self._counts(texts, keys), NgramSpans(self.buckets, tokens, keys)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "ngrams": self.ngrams,
                "buckets": self.buckets,
                "tokens": self.tokens,
            }
        )

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, source: str) -> HashingFeaturizer:
        try:
            # a version saved before `tokens` took every token
            return cls(
                ngrams=int(raw["ngrams"]),
                buckets=int(raw["buckets"]),
                tokens=str(raw.get("tokens", "all")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{source}: not a textbatch hashing featurizer ({exc})") from exc
