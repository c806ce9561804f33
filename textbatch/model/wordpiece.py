"""Text to a pretrained encoder's token ids: its own `tokenizer.json` (Hugging Face `tokenizers`,
written in Rust: no Python per token), then head+tail truncation to `seq_len`.

A text longer than `seq_len - 2` word pieces keeps its first `head_tokens` and its last
`seq_len - 2 - head_tokens`, between [CLS] and [SEP] (Sun et al. 2019, "How to Fine-Tune BERT for
Text Classification": the head and the tail of a long review carry most of its verdict; a quarter
head, three quarters tail did best there). Rows are padded at the end with the pad id.

Saved with the version as `transformer.json` (the tokenizer's JSON inside, never pickle), so a
version predicts with no network and without the package it was fine-tuned from. Imports no
torch: it runs in the predict job's worker processes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from textbatch.errors import ArtifactError

FORMAT = "textbatch.wordpiece/1"
SPECIAL = ("[CLS]", "[SEP]", "[PAD]", "[UNK]")


@dataclass(frozen=True)
class WordPieceText:
    tokenizer_json: str  # the encoder's tokenizer.json, as it was
    seq_len: int  # ids per row, [CLS] and [SEP] included
    head_tokens: int  # of a long text's word pieces, how many come from its start
    cls_id: int
    sep_id: int
    pad_id: int
    unk_id: int
    vocab_size: int

    @classmethod
    def fit(cls, tokenizer_json: str, *, seq_len: int, head_tokens: int) -> WordPieceText:
        """The encoder's tokenizer with this truncation: its special tokens' ids looked up."""
        tokenizer = _parse(tokenizer_json, source="tokenizer.json")
        ids = {token: tokenizer.token_to_id(token) for token in SPECIAL}
        missing = [token for token, i in ids.items() if i is None]
        if missing:
            raise ArtifactError(
                f"tokenizer.json has no {', '.join(missing)} token: not a BERT-style WordPiece "
                "tokenizer",
                hint="use an encoder directory whose tokenizer.json is a BERT tokenizer's",
            )
        if seq_len < 3 or not 0 <= head_tokens <= seq_len - 2:
            raise ArtifactError(
                f"seq_len {seq_len} with head_tokens {head_tokens}: the head must fit in "
                f"seq_len - 2 ({seq_len - 2}) word pieces"
            )
        return cls(
            tokenizer_json=tokenizer_json,
            seq_len=seq_len,
            head_tokens=head_tokens,
            cls_id=ids["[CLS]"],
            sep_id=ids["[SEP]"],
            pad_id=ids["[PAD]"],
            unk_id=ids["[UNK]"],
            vocab_size=tokenizer.get_vocab_size(),
        )

    @cached_property
    def _tokenizer(self) -> Any:
        # made at first use: built lazily, a predict job's workers each parse their own after
        # the fork (a tokenizer used before a fork turns its threads off, with a warning)
        tokenizer = _parse(self.tokenizer_json, source=FORMAT)
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    def encode(self, texts: list[str]) -> np.ndarray:
        """(rows, seq_len) int64 ids: [CLS], the head and tail word pieces, [SEP], padding."""
        out = np.full((len(texts), self.seq_len), self.pad_id, dtype=np.int64)
        body = self.seq_len - 2
        tail = body - self.head_tokens
        for row, encoding in enumerate(
            self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        ):
            ids = encoding.ids
            if len(ids) > body:
                ids = ids[: self.head_tokens] + (ids[len(ids) - tail :] if tail else [])
            out[row, 0] = self.cls_id
            out[row, 1 : 1 + len(ids)] = ids
            out[row, 1 + len(ids)] = self.sep_id
        return out

    def unknown(self, ids: np.ndarray) -> tuple[int, int]:
        """Of a batch's word pieces (special tokens and padding left out): how many are the
        unknown token, and how many there are (the shift warning's unseen share)."""
        pieces = (ids != self.pad_id) & (ids != self.cls_id) & (ids != self.sep_id)
        return int((ids[pieces] == self.unk_id).sum()), int(pieces.sum())

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "seq_len": self.seq_len,
                "head_tokens": self.head_tokens,
                "tokenizer": json.loads(self.tokenizer_json),
            }
        )

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, source: str) -> WordPieceText:
        try:
            seq_len, head = raw["seq_len"], raw["head_tokens"]
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (seq_len, head)):
                raise ValueError("seq_len and head_tokens must be whole numbers")
            tokenizer_json = json.dumps(raw["tokenizer"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{source}: not a {FORMAT} document ({exc})") from exc
        return cls.fit(tokenizer_json, seq_len=seq_len, head_tokens=head)


def _parse(text: str, *, source: str) -> Any:
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise ArtifactError(
            "the encoder family needs the `tokenizers` package",
            hint="pip install 'textbatch[networks]' (make install does)",
        ) from exc
    try:
        return Tokenizer.from_str(text)
    except Exception as exc:  # the Rust parser's own error type
        raise ArtifactError(f"{source}: not a tokenizers JSON document ({exc})") from exc
