"""The train job: a labelled CSV in, a published model version out.

Reads top to bottom: load config and data, split (by row, or holding out whole groups), then
either fit the transformer and train a network with a logged loop keeping the best validation
weights (`train_network`), or fit the numpy `nbsvm` model (textbatch.jobs.nbsvm_fit); write and
publish the version.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from textbatch_contract import events

from textbatch.config import (
    CPU_ARCHITECTURES,
    HASHED_BIGRAMS,
    ModelConfig,
    check_labels,
    parse_config,
)
from textbatch.errors import ConfigError, InputError
from textbatch.io.csv_table import FORMULA_STARTS, LABEL_COLUMNS, TEXT_COLUMNS, open_table
from textbatch.io.storage import Storage, is_s3, join
from textbatch.jobs import nbsvm_fit
from textbatch.jobs.events import EventLog
from textbatch.model import artifacts, knn
from textbatch.model.device import autocast, grad_scaler, select_device, to_device
from textbatch.model.hashing import Counts, HashingFeaturizer
from textbatch.model.inference import tables_to_weights
from textbatch.model.linear import nb_ratios
from textbatch.model.metrics import classification_report
from textbatch.model.networks import NetworkSpec, build_network
from textbatch.model.splits import Split, group_ids, grouped_split, stratified_split
from textbatch.model.transformer import FastTokenizer, TextTransformer, Tokenizer
from textbatch.model.vectors import embedding_matrix, load_vectors

MAX_SKIPPED_LISTED = 100

# a label such as -1 is a number to a spreadsheet, not a formula
NUMBER = re.compile(r"[-+]?[0-9]+(\.[0-9]+)?")


@dataclass(frozen=True)
class TrainRequest:
    config: str
    data: str
    out: str | None = None
    text_column: str | None = None
    label_column: str | None = None
    group_column: str | None = None
    base_model: str | None = None  # knn: a published version whose index the rows extend


@dataclass(frozen=True)
class TrainResult:
    version: str
    location: str
    metrics: dict[str, Any]
    train_rows: int
    validation_rows: int
    seconds: float


@dataclass(frozen=True)
class LabelledTexts:
    texts: list[str]
    labels: list[str]
    skipped: list[dict[str, Any]]  # row, line and reason of each unusable row
    skipped_count: int
    groups: list[str] | None = None  # each row's value of the group column, when one is named
    rows: list[int] | None = None  # each row's row number in the file (the knn's neighbours)


def read_labelled(
    path: Path,
    *,
    name: str,
    text_column: str | None,
    label_column: str | None,
    group_column: str | None = None,
) -> LabelledTexts:
    texts: list[str] = []
    labels: list[str] = []
    groups: list[str] = []
    rows: list[int] = []
    skipped: list[dict[str, Any]] = []
    skipped_count = 0
    with open_table(path, name=name) as table:
        label_at = table.column(label_column, candidates=LABEL_COLUMNS, role="label")
        text_at = table.column(
            text_column, candidates=TEXT_COLUMNS, role="text", besides=(label_at,)
        )
        group_at = None
        if group_column is not None:
            if group_column not in table.header:
                raise InputError(
                    f"{name} has no column {group_column!r} to group validation rows by; "
                    f"its columns are {table.header}",
                    hint="fix validation_group_column in the config (or --group-column), "
                    "or leave it out for a split by row",
                )
            group_at = table.header.index(group_column)
        needed = max(text_at, label_at, -1 if group_at is None else group_at)
        for record in table.records():
            reason = None
            if len(record.fields) <= needed:
                reason = f"{len(record.fields)} fields, the header has {len(table.header)}"
            elif not record.fields[text_at].strip():
                reason = "empty text"
            elif not record.fields[label_at].strip():
                reason = "empty label"
            if reason:
                skipped_count += 1
                if len(skipped) < MAX_SKIPPED_LISTED:
                    skipped.append({"row": record.row, "line": record.line, "reason": reason})
                continue
            label = record.fields[label_at].strip()
            if label.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(label):
                raise InputError(
                    f"{name}: row {record.row} (line {record.line}) has the label {label!r}, "
                    "which starts like a spreadsheet formula; every prediction of the model "
                    "would write it into a cell",
                    hint="rename the label so that it starts with a letter or a digit",
                )
            texts.append(record.fields[text_at])
            labels.append(label)
            rows.append(record.row)
            if group_at is not None:
                groups.append(record.fields[group_at])
    if not texts:
        raise InputError(
            f"{name} has no usable training rows", hint="each row needs a text and a label"
        )
    return LabelledTexts(
        texts, labels, skipped, skipped_count, groups if group_at is not None else None, rows
    )


def sorted_labels(labels: list[str]) -> list[str]:
    """Distinct labels, numerically ordered when they are all integers."""
    distinct = set(labels)
    if all(label.lstrip("-").isdigit() for label in distinct):
        return sorted(distinct, key=int)
    return sorted(distinct)


def validation_split(
    y: np.ndarray, data: LabelledTexts, config: ModelConfig, group_column: str | None
) -> Split:
    """Whole groups held out when a group column is named, else a stratified split by row."""
    if group_column is None or data.groups is None:
        return stratified_split(y, config.validation_fraction, config.seed)
    return grouped_split(
        y, group_ids(data.groups), config.validation_fraction, config.seed, column=group_column
    )


def get_lr(epoch: int, config: ModelConfig) -> float:
    """Learning rate for a 0-based epoch. power_decay: x0.1 every epoch_factor epochs; otherwise
    the blog's schedule, 10% less each epoch once more than epoch_factor + 1 epochs have run."""
    if config.power_decay:
        return config.learning_rate * 0.1 ** math.floor(epoch / config.epoch_factor)
    return config.learning_rate * 0.9 ** max(0, epoch - config.epoch_factor - 1)


def make_optimizers(config: ModelConfig, network: torch.nn.Module) -> list[torch.optim.Optimizer]:
    """The configured optimizer; an embedding with sparse gradients (the bag model's, whose
    rows a batch barely touches) gets SparseAdam instead, which has no weight decay."""
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
) -> tuple[float, float, np.ndarray]:
    """Mean loss, accuracy and predicted class ids over a data set, in eval mode."""
    network.eval()
    total_loss, predictions = 0.0, []
    for i, idx in enumerate(batches(len(x), batch_size)):
        with autocast(device):
            logits = network(to_device(x[idx], device))
        target = to_device(y[idx], device)
        total_loss += float(F.cross_entropy(logits.float(), target, reduction="sum"))
        predictions.append(logits.argmax(dim=1).cpu())
        if on_batch:
            on_batch(i + 1)
    predicted = torch.cat(predictions).numpy() if predictions else np.zeros(0, dtype=np.int64)
    accuracy = float((predicted == y.numpy()).mean()) if len(y) else 0.0
    return total_loss / max(1, len(x)), accuracy, predicted


def initial_embeddings(
    config: ModelConfig, transformer: TextTransformer, log: EventLog
) -> np.ndarray | None:
    """Embedding rows from spaCy vectors when asked for and installed; None means random init.
    Says which, once, in the log."""
    if not config.use_spacy_pretrained:
        log.emit("embeddings", source="random", reason="use_spacy_pretrained is false")
        return None
    if config.network == "nb_linear":
        log.emit("embeddings", source="none", reason="nb_linear has no embeddings to initialise")
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
    log.emit("embeddings", source=name, tokens_with_vectors=found, size=int(matrix.shape[1]))
    return matrix


def run_train(
    request: TrainRequest, *, storage: Storage | None = None, log: EventLog | None = None
) -> TrainResult:
    storage = storage or Storage()
    log = log or EventLog(job=events.TRAIN_JOB)
    started = time.perf_counter()
    config = parse_config(storage.read_text(request.config), source=request.config)
    out = request.out or _location(config.MODELPARAMSURL)
    if out is None:
        raise ConfigError(
            "no place to publish the model", hint="pass --out DIR_OR_S3_URI or set MODELPARAMSURL"
        )
    torch.manual_seed(config.seed)
    device = select_device()
    log.emit(events.START, config=request.config, data=request.data, out=out, device=device.type)

    group_column = request.group_column or config.validation_group_column
    with storage.local_copy(request.data) as path:
        data = read_labelled(
            path,
            name=request.data,
            text_column=request.text_column or config.text_column,
            label_column=request.label_column or config.label_column,
            group_column=group_column,
        )
    base = _base_index(request, config, storage) if request.base_model else None
    labels = sorted_labels(data.labels)
    if base is not None:  # the base's label ids stay; new labels come after them
        labels = base.labels + [label for label in labels if label not in base.labels]
    check_labels(config, labels, source=request.data)
    # the resolved config is saved: the label count, and the group column actually used
    config = dataclasses.replace(
        config, n_classes=len(labels), validation_group_column=group_column
    )
    label_ids = {label: i for i, label in enumerate(labels)}
    y_all = np.array([label_ids[label] for label in data.labels], dtype=np.int64)
    if base is None:
        split = validation_split(y_all, data, config, group_column)
    else:  # every row is added; the base model's predictions of them are the validation
        every = np.arange(len(y_all))
        split = Split(train=every, validation=every, by="base-model")
    if data.skipped_count:
        log.emit("rows_skipped", count=data.skipped_count, rows=data.skipped)
    log.emit("split", **split.describe())

    if config.network == "nbsvm":
        fitted = _train_nbsvm(config, data.texts, y_all, split, log)
    elif config.network == "knn":
        fitted = _train_knn(config, data, request.data, y_all, split, base, log)
    else:
        fitted = _train_network(config, data.texts, y_all, split, device, log)
    log.emit(
        "data",
        train_rows=len(split.train),
        validation_rows=len(split.validation),
        labels=labels,
        features=fitted.spec.vocab_rows,
    )
    metrics = {
        "validation": classification_report(y_all[split.validation], fitted.predicted, labels),
        "split": split.describe(),
        "best_epoch": fitted.best_epoch,
        "epochs_run": fitted.epochs_run,
        "train_rows": len(split.train),
        "validation_rows": len(split.validation),
        "skipped_rows": data.skipped_count,
        "train_seconds": round(time.perf_counter() - started, 2),
        "device": device.type if config.network not in CPU_ARCHITECTURES else "cpu",
    }
    with tempfile.TemporaryDirectory(prefix="textbatch-train-") as tmp:
        manifest = artifacts.write_version(
            Path(tmp),
            weights=fitted.weights,
            spec=fitted.spec,
            transformer=fitted.transformer,
            config=config,
            labels=labels,
            metrics=metrics,
        )
        location = artifacts.publish(Path(tmp), manifest, out, storage)
        _publish_copies(Path(tmp), config, storage)
    seconds = time.perf_counter() - started
    log.emit(
        events.DONE,
        version=manifest.version,
        location=location,
        validation_accuracy=metrics["validation"]["accuracy"],
        macro_f1=metrics["validation"]["macro_f1"],
        split=split.by,
        seconds=seconds,
    )
    return TrainResult(
        manifest.version, location, metrics, len(split.train), len(split.validation), seconds
    )


@dataclass(frozen=True)
class Fitted:
    """A trained model before it is written: its weights, what rebuilds it, how it did."""

    weights: dict[str, np.ndarray]
    spec: NetworkSpec
    transformer: TextTransformer | HashingFeaturizer
    best_epoch: int
    epochs_run: int
    predicted: np.ndarray  # the best epoch's predicted class ids of the validation rows


def _train_nbsvm(
    config: ModelConfig, texts: list[str], y: np.ndarray, split: Split, log: EventLog
) -> Fitted:
    featurizer = HashingFeaturizer(ngrams=config.ngrams, buckets=config.ngram_buckets)
    counts = featurizer.counts(texts)
    data = nbsvm_fit.prepare(counts, y, split.train, split.validation, config.n_classes)
    log.emit("features", columns=len(data.columns), ngrams=config.ngrams)
    result = nbsvm_fit.fit(
        data,
        c=config.svm_c,
        epochs=config.num_epoch,
        patience=config.early_stopping_patience,
        on_epoch=lambda **values: log.emit("validation", **values),
    )
    if result.epochs_run < config.num_epoch:
        log.emit("early_stop", epoch=result.epochs_run, best_epoch=result.best_epoch)
    tables = result.tables
    if config.refit and len(split.validation):
        # the validation rows chose the epoch count and the temperature; now learn from them too
        every = np.arange(len(y))
        refitted = nbsvm_fit.fit(
            nbsvm_fit.prepare(counts, y, every, every[:0], config.n_classes),
            c=config.svm_c,
            epochs=result.best_epoch,
            patience=0,
            on_epoch=lambda **values: log.emit("refit", **values),
        )
        tables = dataclasses.replace(refitted.tables, temperature=tables.temperature)
    spec = NetworkSpec.from_config(config, vocab_rows=len(tables.columns), embed_size=0)
    return Fitted(
        tables_to_weights(tables),
        spec,
        featurizer,
        result.best_epoch,
        result.epochs_run,
        result.predicted,
    )


@dataclass(frozen=True)
class BaseIndex:
    """A published knn model that new labelled rows extend."""

    version: str
    labels: list[str]
    featurizer: HashingFeaturizer
    index: knn.KnnIndex


def _base_index(request: TrainRequest, config: ModelConfig, storage: Storage) -> BaseIndex:
    assert request.base_model is not None
    if config.network != "knn":
        raise ConfigError(
            f"--base-model extends a knn model's rows; {request.config} trains {config.network}",
            hint='use a config with "architecture": "knn", or train without --base-model',
        )
    model = artifacts.open_model(request.base_model, storage)
    if model.spec.architecture != "knn":
        raise ConfigError(
            f"--base-model {request.base_model} is a {model.spec.architecture} model "
            f"({model.manifest.version}); only a knn model takes new rows without training",
            hint="name a version trained with a knn config",
        )
    weights = dict(model.weights)
    return BaseIndex(
        version=model.manifest.version,
        labels=model.labels,
        featurizer=model.transformer,  # type: ignore[arg-type]
        index=knn.KnnIndex.from_weights(weights),
    )


def _train_knn(
    config: ModelConfig,
    data: LabelledTexts,
    name: str,
    y: np.ndarray,
    split: Split,
    base: BaseIndex | None,
    log: EventLog,
) -> Fitted:
    """The index of every labelled row. Validation: the rows held out, against an index of the
    others (or, extending a base model, every new row against the base's index)."""
    assert data.rows is not None
    rows = np.asarray(data.rows, dtype=np.int64)
    if base is None:
        featurizer = HashingFeaturizer(ngrams=config.ngrams, buckets=config.ngram_buckets)
        counts = featurizer.counts(data.texts)
        columns, idf = knn.fit_features(counts.subset(split.train))
        train = split.train
        held_out = knn.build_index(
            [(_index_vectors(counts.subset(train), columns, idf, config),
              y[train], rows[train], np.zeros(len(train)))],
            columns, idf, (name,),
        )  # fmt: skip
        columns, idf = knn.fit_features(counts)  # the published index: every row
        parts = [(_index_vectors(counts, columns, idf, config), y, rows, np.zeros(len(y)))]
        sources: tuple[str, ...] = (name,)
    else:
        featurizer, held_out = base.featurizer, base.index
        counts = featurizer.counts(data.texts)
        columns, idf = knn.extend_features(held_out, counts)  # the new rows' words count too
        added = np.full(len(y), len(held_out.source_names))
        parts = [knn.existing(held_out, columns),
                 (_index_vectors(counts, columns, idf, config), y, rows, added)]  # fmt: skip
        sources = (*held_out.source_names, name)
    validation = counts.subset(split.validation)
    found = knn.nearest(
        held_out, knn.vectors(validation, held_out.columns, held_out.idf), config.n_neighbors
    )
    predicted = knn.vote(held_out, found, config.n_classes).argmax(axis=1)
    accuracy = float((predicted == y[split.validation]).mean()) if len(predicted) else 0.0
    log.emit("validation", epoch=1, accuracy=accuracy, n_neighbors=config.n_neighbors)
    index = knn.build_index(parts, columns, idf, sources)
    log.emit(
        "index",
        rows=index.n_rows,
        features=len(index.columns),
        postings=len(index.values),
        mib=round(index.nbytes() / 2**20, 1),
        base_model=base.version if base else None,
        sources=list(sources),
    )
    spec = NetworkSpec.from_config(config, vocab_rows=len(index.columns), embed_size=0)
    return Fitted(index.to_weights(), spec, featurizer, 1, 1, predicted)


def _index_vectors(
    counts: Counts, columns: np.ndarray, idf: np.ndarray, config: ModelConfig
) -> knn.Vectors:
    return knn.strongest(knn.vectors(counts, columns, idf), config.knn_max_features)


def _train_network(
    config: ModelConfig,
    texts: list[str],
    y_all: np.ndarray,
    split: Split,
    device: torch.device,
    log: EventLog,
) -> Fitted:
    tokenizer = FastTokenizer() if config.tokenizer == "fast" else Tokenizer("en")
    tokenized = tokenizer.tokenize(texts)
    transformer = TextTransformer.fit(
        (tokenized[i] for i in split.train),
        vocab_size=config.vocab_size,
        seq_len=config.seq_len,
        tokenizer_name=config.tokenizer,
        ngram_buckets=config.ngram_buckets if config.network in HASHED_BIGRAMS else 0,
    )
    x_all = torch.from_numpy(transformer.encode_tokens(tokenized))
    x_train, y_train = x_all[split.train], torch.from_numpy(y_all[split.train])
    x_val, y_val = x_all[split.validation], torch.from_numpy(y_all[split.validation])

    matrix = initial_embeddings(config, transformer, log)
    embed_size = config.embed_size if matrix is None else matrix.shape[1]
    spec = NetworkSpec.from_config(config, vocab_rows=transformer.rows, embed_size=embed_size)
    network = build_network(spec)
    if matrix is not None:  # the vocabulary's rows; bigram buckets keep their random start
        network.embedding.weight.data[: len(matrix)].copy_(torch.from_numpy(matrix))
    if spec.architecture == "nb_linear":  # from the training rows only, never validation
        ratios = nb_ratios(
            x_train.numpy(), y_train.numpy(), rows=spec.vocab_rows, n_classes=spec.n_classes
        )
        network.ratios.copy_(torch.from_numpy(ratios))
    trained = train_network(network, config, x_train, y_train, x_val, y_val, device, log)
    weights = {k: v.detach().cpu().contiguous().numpy() for k, v in trained.state.items()}
    return Fitted(
        weights, spec, transformer, trained.best_epoch, trained.epochs_run, trained.predicted
    )


@dataclass(frozen=True)
class Trained:
    state: dict[str, torch.Tensor]  # the best epoch's weights, on the CPU
    best_epoch: int
    epochs_run: int
    predicted: np.ndarray


def train_network(
    network: torch.nn.Module,
    config: ModelConfig,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    device: torch.device,
    log: EventLog,
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
            for group in optimizer.param_groups:
                group["lr"] = lr
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
            if config.network == "lstm":
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

        val_loss, val_accuracy, _ = evaluate(
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
            "validation",
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
            log.emit("early_stop", epoch=epoch + 1, best_epoch=best_epoch, patience=patience)
            break

    assert best_state is not None
    network.load_state_dict(best_state)
    _, _, predicted = evaluate(
        network, x_val, y_val, batch_size=config.predict_batch_size, device=device
    )
    return Trained(best_state, best_epoch, epochs_run, predicted)


def _location(value: str | None) -> str | None:
    """A config *URL value as a location: a bare bucket name means that bucket's root."""
    if value is None or is_s3(value):
        return value
    return f"s3://{value}"


def _publish_copies(directory: Path, config: ModelConfig, storage: Storage) -> None:
    """The blog kept the transformer and the config in their own buckets; when those keys are
    set, a copy of each goes there too (the version under --out stays complete on its own)."""
    for key, name in (("TRANSFORMERURL", "transformer.json"), ("MODELCONFIGURL", "config.json")):
        location = _location(getattr(config, key))
        if location is not None:
            storage.upload(directory / name, join(location, name))
