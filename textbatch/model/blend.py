"""What an encoder version blended with a second model reads texts with: the encoder's word
pieces and the partner's own features (a hashing featurizer for `nbsvm`), saved together as one
`transformer.json`. The blend itself (its weight, the partner's spec and config) is in the
version's `network.json` (textbatch.families.encoder)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textbatch.errors import ArtifactError
from textbatch.model.wordpiece import WordPieceText

FORMAT = "textbatch.blend/1"


@dataclass(frozen=True)
class BlendText:
    encoder: WordPieceText
    partner: Any  # the partner family's transformer (textbatch.model.artifacts.Transformer)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "encoder": json.loads(self.encoder.to_json()),
                "partner": json.loads(self.partner.to_json()),
            }
        )

    @classmethod
    def from_dict(
        cls, raw: dict[str, Any], *, source: str, load_partner: Callable[[str], Any]
    ) -> BlendText:
        if not isinstance(raw.get("encoder"), dict) or not isinstance(raw.get("partner"), dict):
            raise ArtifactError(f"{source}: a {FORMAT} document needs encoder and partner")
        return cls(
            WordPieceText.from_dict(raw["encoder"], source=source),
            load_partner(json.dumps(raw["partner"])),
        )
