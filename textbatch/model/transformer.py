"""Text to token ids: spaCy tokenization, a frequency vocabulary, fixed-length sequences.

Saved as JSON (never pickle); a loaded transformer encodes exactly as the saved one did.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from textbatch.errors import ArtifactError

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
FORMAT = "textbatch.transformer/1"


class FastTokenizer:
    """Lower-cased runs of word characters, and single punctuation marks: a regular expression,
    several times faster than spaCy's rules (contractions stay whole: "didn't" is did, ', t)."""

    _pattern = re.compile(r"\w+|[^\w\s]")

    def tokenize(self, texts: Iterable[str]) -> list[list[str]]:
        findall = self._pattern.findall
        return [findall(text.lower()) for text in texts]


class Tokenizer:
    """spaCy's rule-based tokenizer for a language (no model download), lower-cased tokens."""

    def __init__(self, lang: str = "en") -> None:
        import spacy

        self.lang = lang
        self._tokenizer = spacy.blank(lang).tokenizer

    def tokenize(self, texts: Iterable[str]) -> list[list[str]]:
        return [
            [token.lower_ for token in doc if not token.is_space]
            for doc in self._tokenizer.pipe(texts, batch_size=256)
        ]


def unknown_tokens(ids: np.ndarray, seq_len: int) -> tuple[int, int]:
    """Of the tokens a batch's ids hold (the first seq_len columns, padding left out): how many
    are out of the vocabulary, and how many there are (the shift warning's unseen share)."""
    tokens = ids[:, :seq_len]
    return int((tokens == UNK_ID).sum()), int((tokens != PAD_ID).sum())


@dataclass(frozen=True)
class TextTransformer:
    tokens: list[str]  # id -> token; ids 0 and 1 are padding and unknown
    seq_len: int
    lang: str = "en"
    tokenizer_name: str = "spacy"
    ngram_buckets: int = 0  # hashed bigram ids follow the token ids: len(tokens) + hash % buckets
    _tokenizer: Tokenizer | FastTokenizer | None = field(default=None, compare=False, repr=False)

    @classmethod
    def fit(
        cls,
        tokenized: Iterable[Sequence[str]],
        *,
        vocab_size: int,
        seq_len: int,
        lang: str = "en",
        tokenizer_name: str = "spacy",
        ngram_buckets: int = 0,
    ) -> TextTransformer:
        counts: Counter[str] = Counter()
        for tokens in tokenized:
            counts.update(tokens)
        # Most frequent first; ties broken by the token itself so that a refit is identical.
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:vocab_size]
        return cls(
            tokens=[PAD, UNK, *(token for token, _ in ranked)],
            seq_len=seq_len,
            lang=lang,
            tokenizer_name=tokenizer_name,
            ngram_buckets=ngram_buckets,
        )

    @property
    def rows(self) -> int:
        """Embedding rows the ids index: the vocabulary, then the bigram buckets."""
        return len(self.tokens) + self.ngram_buckets

    @property
    def width(self) -> int:
        """Ids per text: seq_len tokens, then seq_len - 1 bigrams when buckets are used."""
        return self.seq_len + (self.seq_len - 1 if self.ngram_buckets else 0)

    @cached_property
    def ids(self) -> dict[str, int]:
        return {token: i for i, token in enumerate(self.tokens)}

    @property
    def tokenizer(self) -> Tokenizer | FastTokenizer:
        if self._tokenizer is None:
            made = FastTokenizer() if self.tokenizer_name == "fast" else Tokenizer(self.lang)
            object.__setattr__(self, "_tokenizer", made)
        return self._tokenizer  # type: ignore[return-value]

    def encode_tokens(self, tokenized: Sequence[Sequence[str]]) -> np.ndarray:
        """Token lists to an int64 array (rows, width): token ids cut at seq_len and padded
        with 0, then (with buckets) the hashed ids of adjacent token pairs."""
        out = np.zeros((len(tokenized), self.seq_len), dtype=np.int64)
        ids = self.ids
        for row, tokens in enumerate(tokenized):
            encoded = [ids.get(token, UNK_ID) for token in tokens[: self.seq_len]]
            out[row, : len(encoded)] = encoded
        if not self.ngram_buckets:
            return out
        left, right = out[:, :-1], out[:, 1:]
        # A fixed multiplicative hash of the pair (the same in every process, unlike hash()).
        bigrams = (left * 1_000_003 + right) % self.ngram_buckets + len(self.tokens)
        bigrams[(left == PAD_ID) | (right == PAD_ID)] = PAD_ID
        return np.concatenate([out, bigrams], axis=1)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode_tokens(self.tokenizer.tokenize(texts))

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "lang": self.lang,
                "seq_len": self.seq_len,
                "tokenizer": self.tokenizer_name,
                "ngram_buckets": self.ngram_buckets,
                "tokens": self.tokens,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str, *, source: str = "transformer.json") -> TextTransformer:
        try:
            raw = json.loads(text)
            if raw["format"] != FORMAT:
                raise ArtifactError(f"{source}: format {raw['format']!r}, expected {FORMAT!r}")
            tokens = list(raw["tokens"])
            if tokens[:2] != [PAD, UNK]:
                raise ArtifactError(f"{source}: the vocabulary must start with {PAD}, {UNK}")
            return cls(
                tokens=tokens,
                seq_len=int(raw["seq_len"]),
                lang=str(raw["lang"]),
                tokenizer_name=str(raw.get("tokenizer", "spacy")),
                ngram_buckets=int(raw.get("ngram_buckets", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{source}: not a textbatch transformer ({exc})") from exc
