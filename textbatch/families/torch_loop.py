"""The networks' training loop (torch), read top to bottom: per epoch set lr, train in shuffled
batches, evaluate, keep the best weights, stop early; and what comes before it (tokens, the
vocabulary, spaCy's vectors as the embedding's start)."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from textbatch_contract import events

from textbatch.families.base import Fitted, Log, TrainingData
from textbatch.model.device import autocast, grad_scaler, select_device, to_device
from textbatch.model.networks import build_network
from textbatch.model.spec import ModelSpec
from textbatch.model.transformer import (
    FastTokenizer,
    TextTransformer,
    Tokenizer,
    unknown_tokens,
)
from textbatch.model.vectors import embedding_matrix, load_vectors


class Traits(Protocol):
    """What the loop asks of a network family (textbatch.families.networks.Network)."""

    name: str
    bigram_buckets: bool  # hashed word-bigram ids after the vocabulary's
    has_embeddings: bool  # an embedding that spaCy's vectors may start
    clip_gradients: bool  # the gradient norm clipped to 5 (the LSTM's)

    def start(self, network: Any, spec: ModelSpec, x_train: Any, y_train: Any) -> None: ...


if TYPE_CHECKING:
    from textbatch.config import ModelConfig


def get_lr(epoch: int, config: ModelConfig) -> float:
    """Learning rate for a 0-based epoch. power_decay: x0.1 every epoch_factor epochs; otherwise
    the blog's schedule, 10% less each epoch once more than epoch_factor + 1 epochs have run."""
    if config.power_decay:
        return config.learning_rate * 0.1 ** math.floor(epoch / config.epoch_factor)
    return config.learning_rate * 0.9 ** max(0, epoch - config.epoch_factor - 1)


def make_optimizers(config: ModelConfig, network: torch.nn.Module) -> list[torch.optim.Optimizer]:
    """The configured optimizer; an embedding with sparse gradients (the bag model's, whose
    rows a batch barely touches) gets SparseAdam instead, which has no weight decay."""
    groups = getattr(network, "parameter_groups", None)
    if groups is not None:  # a network whose parts learn at different rates (the encoder's)
        return [make_optimizer(config, groups(config))]
    embeddings = (torch.nn.Embedding, torch.nn.EmbeddingBag)
    sparse = [m.weight for m in network.modules() if isinstance(m, embeddings) and m.sparse]
    dense = [p for p in network.parameters() if all(p is not s for s in sparse)]
    optimizers = [make_optimizer(config, dense)]
    if sparse:
        optimizers.append(torch.optim.SparseAdam(sparse, lr=config.learning_rate))
    return optimizers


def make_optimizer(config: ModelConfig, params: Any) -> torch.optim.Optimizer:
    lr, wd = config.learning_rate, config.wd
    return {
        "adam": lambda: torch.optim.Adam(params, lr=lr, weight_decay=wd),
        "adamw": lambda: torch.optim.AdamW(params, lr=lr, weight_decay=wd),
        "sgd": lambda: torch.optim.SGD(params, lr=lr, weight_decay=wd, momentum=0.9),
        "rmsprop": lambda: torch.optim.RMSprop(params, lr=lr, weight_decay=wd),
        "adagrad": lambda: torch.optim.Adagrad(params, lr=lr, weight_decay=wd),
    }[config.optimizer]()


def batches(n: int, size: int, order: torch.Tensor | None = None) -> Iterator[torch.Tensor]:
    order = torch.arange(n) if order is None else order
    for start in range(0, n, size):
        yield order[start : start + size]


@torch.no_grad()
def evaluate(
    network: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int,
    device: torch.device,
    on_batch: Any = None,
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Mean loss, accuracy, predicted class ids and (rows, classes) probabilities over a data
    set, in eval mode."""
    network.eval()
    total_loss, predictions, probabilities = 0.0, [], []
    for i, idx in enumerate(batches(len(x), batch_size)):
        with autocast(device):
            logits = network(to_device(x[idx], device))
        target = to_device(y[idx], device)
        total_loss += float(F.cross_entropy(logits.float(), target, reduction="sum"))
        predictions.append(logits.argmax(dim=1).cpu())
        probabilities.append(torch.softmax(logits.float(), dim=1).cpu())
        if on_batch:
            on_batch(i + 1)
    predicted = torch.cat(predictions).numpy() if predictions else np.zeros(0, dtype=np.int64)
    probs = torch.cat(probabilities).numpy() if probabilities else np.zeros((0, 0))
    accuracy = float((predicted == y.numpy()).mean()) if len(y) else 0.0
    return total_loss / max(1, len(x)), accuracy, predicted, probs


def initial_embeddings(
    config: ModelConfig, transformer: TextTransformer, log: Log, family: Traits
) -> np.ndarray | None:
    """Embedding rows from spaCy vectors when asked for and installed; None means random init.
    Says which, once, in the log."""
    if not config.use_spacy_pretrained:
        log.emit(events.EMBEDDINGS, source="random", reason="use_spacy_pretrained is false")
        return None
    if not family.has_embeddings:
        reason = f"{family.name} has no embeddings to initialise"
        log.emit(events.EMBEDDINGS, source="none", reason=reason)
        return None
    loaded = load_vectors(config.spacy_model)
    if loaded is None:
        log.emit(
            "embeddings",
            source="random",
            reason=f"no spaCy model with vectors installed ({config.spacy_model})",
        )
        return None
    vocab, name = loaded
    matrix, found = embedding_matrix(vocab, transformer.tokens, seed=config.seed)
    log.emit(events.EMBEDDINGS, source=name, tokens_with_vectors=found, size=int(matrix.shape[1]))
    return matrix


def fit_network(family: Traits, config: ModelConfig, data: TrainingData, log: Log) -> Fitted:
    """Tokenize, fit the vocabulary on the training rows, build the network (spaCy vectors as
    its start when asked for), run the loop; the best epoch's weights."""
    torch.manual_seed(config.seed)
    device = select_device()
    texts, y_all, split = data.texts, data.y, data.split
    tokenizer = FastTokenizer() if config.tokenizer == "fast" else Tokenizer("en")
    tokenized = tokenizer.tokenize(texts)
    transformer = TextTransformer.fit(
        (tokenized[i] for i in split.train),
        vocab_size=config.vocab_size,
        seq_len=config.seq_len,
        tokenizer_name=config.tokenizer,
        ngram_buckets=config.ngram_buckets if family.bigram_buckets else 0,
    )
    x_all = torch.from_numpy(transformer.encode_tokens(tokenized))
    x_train, y_train = x_all[split.train], torch.from_numpy(y_all[split.train])
    x_val, y_val = x_all[split.validation], torch.from_numpy(y_all[split.validation])

    matrix = initial_embeddings(config, transformer, log, family)
    embed_size = config.embed_size if matrix is None else matrix.shape[1]
    spec = ModelSpec.from_config(config, vocab_rows=transformer.rows, embed_size=embed_size)
    network = build_network(spec)
    if matrix is not None:  # the vocabulary's rows; bigram buckets keep their random start
        network.embedding.weight.data[: len(matrix)].copy_(torch.from_numpy(matrix))
    family.start(network, spec, x_train, y_train)
    trained = train_network(
        network, config, x_train, y_train, x_val, y_val, device, log,
        clip_gradients=family.clip_gradients,
    )  # fmt: skip
    weights = {k: v.detach().cpu().contiguous().numpy() for k, v in trained.state.items()}
    return Fitted(
        weights,
        spec,
        transformer,
        trained.best_epoch,
        trained.epochs_run,
        trained.predicted,
        device=device.type,
        probabilities=trained.probabilities,
        unseen=_unknown_share(x_val.numpy(), transformer.seq_len),
    )


def _unknown_share(ids: Any, seq_len: int) -> float | None:
    unknown, total = unknown_tokens(ids, seq_len)
    return unknown / total if total else None


@dataclass(frozen=True)
class Trained:
    state: dict[str, torch.Tensor]  # the best epoch's weights, on the CPU
    best_epoch: int
    epochs_run: int
    predicted: np.ndarray
    probabilities: np.ndarray  # (validation rows, classes)


def train_network(
    network: torch.nn.Module,
    config: ModelConfig,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    device: torch.device,
    log: Log,
    *,
    clip_gradients: bool = False,
) -> Trained:
    """The loop: per epoch set lr, train in shuffled batches, evaluate, keep the best; stop
    early after `early_stopping_patience` epochs without a better validation accuracy."""
    network.to(device)
    optimizers = make_optimizers(config, network)
    scaler = grad_scaler(device)
    shuffle = torch.Generator().manual_seed(config.seed)
    best_accuracy, best_state, best_epoch, epochs_run = -1.0, None, 0, 0
    for epoch in range(config.num_epoch):
        epochs_run = epoch + 1
        lr = get_lr(epoch, config)
        for optimizer in optimizers:
            for group in optimizer.param_groups:  # lr_scale: a group's share (default 1)
                group["lr"] = lr * group.get("lr_scale", 1.0)
        network.train()
        seen, correct, loss_sum, tick = 0, 0, 0.0, time.perf_counter()
        order = torch.randperm(len(x_train), generator=shuffle)
        for batch, idx in enumerate(batches(len(x_train), config.batch_size, order), start=1):
            x, y = to_device(x_train[idx], device), to_device(y_train[idx], device)
            with autocast(device):
                logits = network(x)
                loss = F.cross_entropy(logits.float(), y)
            for optimizer in optimizers:
                optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if clip_gradients:
                for optimizer in optimizers:
                    scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(network.parameters(), 5.0)
            for optimizer in optimizers:
                scaler.step(optimizer)
            scaler.update()
            seen += len(idx)
            correct += int((logits.argmax(dim=1) == y).sum())
            loss_sum += float(loss.detach()) * len(idx)
            if batch % config.train_log_interval == 0:
                log.emit(
                    "train",
                    epoch=epoch + 1,
                    batch=batch,
                    loss=loss_sum / seen,
                    accuracy=correct / seen,
                    lr=lr,
                    rows_per_s=seen / max(1e-9, time.perf_counter() - tick),
                )
        train_seconds = time.perf_counter() - tick

        def on_val_batch(b: int, epoch: int = epoch) -> None:
            if b % config.val_log_interval == 0:
                log.emit("validation_progress", epoch=epoch + 1, batch=b)

        val_loss, val_accuracy, _, _ = evaluate(
            network,
            x_val,
            y_val,
            batch_size=config.predict_batch_size,
            device=device,
            on_batch=on_val_batch,
        )
        improved = val_accuracy > best_accuracy
        if improved:
            best_accuracy, best_epoch = val_accuracy, epoch + 1
            best_state = copy.deepcopy({k: v.cpu() for k, v in network.state_dict().items()})
        log.emit(
            events.VALIDATION,
            epoch=epoch + 1,
            loss=val_loss,
            accuracy=val_accuracy,
            train_loss=loss_sum / max(1, seen),
            train_accuracy=correct / max(1, seen),
            lr=lr,
            best=improved,
            seconds=time.perf_counter() - tick,
            train_rows_per_s=seen / max(1e-9, train_seconds),
        )
        patience = config.early_stopping_patience
        if patience and epoch + 1 - best_epoch >= patience:
            log.emit(events.EARLY_STOP, epoch=epoch + 1, best_epoch=best_epoch, patience=patience)
            break

    assert best_state is not None
    network.load_state_dict(best_state)
    _, _, predicted, probabilities = evaluate(
        network, x_val, y_val, batch_size=config.predict_batch_size, device=device
    )
    return Trained(best_state, best_epoch, epochs_run, predicted, probabilities)
