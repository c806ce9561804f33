"""The train job: a labelled CSV in, a published model version out.

Reads top to bottom: load the config and the data, split it (by row, or holding out whole
groups), hand the rows to the config's model family to fit (textbatch.families), write and
publish the version. Nothing here knows a family by name: what differs is the family's.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from textbatch_contract import events, jobs, models

from textbatch import families
from textbatch.config import ModelConfig, check_labels
from textbatch.errors import ConfigError, InputError
from textbatch.families import Family, TrainingData
from textbatch.io.csv_table import FORMULA_STARTS, LABEL_COLUMNS, TEXT_COLUMNS, open_table
from textbatch.io.storage import Conflict, Storage, is_s3, join
from textbatch.jobs.events import EventLog
from textbatch.model import artifacts, report, review, shift, versions
from textbatch.model.artifacts import Model
from textbatch.model.metrics import classification_report
from textbatch.model.splits import Split, group_ids, grouped_split, stratified_split

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
    base_model: str | None = None  # a published version whose rows these extend (knn)
    promote: str = "auto"  # auto: the promotion gate decides; always; never
    eval_data: str | None = None  # labelled rows the gate compares on (default: validation)


@dataclass(frozen=True)
class TrainResult:
    version: str
    location: str
    metrics: dict[str, Any]
    train_rows: int
    validation_rows: int
    seconds: float
    promoted: bool = False  # models/latest.json points at it now


@dataclass(frozen=True)
class LabelledTexts:
    texts: list[str]
    labels: list[str]
    skipped: list[dict[str, Any]]  # row, line and reason of each unusable row
    skipped_count: int
    groups: list[str] | None = None  # each row's value of the group column, when one is named
    rows: list[int] | None = None  # each row's row number in the file (neighbours name it)


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


def run_train(
    request: TrainRequest, *, storage: Storage | None = None, log: EventLog | None = None
) -> TrainResult:
    storage = storage or Storage()
    log = log or EventLog(job=jobs.TRAIN.name)
    started = time.perf_counter()
    config = families.parse_config(storage.read_text(request.config), source=request.config)
    out = request.out or _location(config.MODELPARAMSURL)
    if out is None:
        raise ConfigError(
            "no place to publish the model", hint="pass --out DIR_OR_S3_URI or set MODELPARAMSURL"
        )
    family = families.family(config.network)
    if family.trains_with_torch and importlib.util.find_spec("torch") is None:
        # said before the data is read: the CPU image and a plain install have no torch
        raise ConfigError(
            f"{request.config}: training {family.name} needs torch, which this installation lacks",
            hint="pip install 'textbatch[networks]', or run it in the GPU image; "
            + " and ".join(f.name for f in families.FAMILIES.values() if not f.trains_with_torch)
            + " train without torch",
        )
    log.emit(
        events.START, config=request.config, data=request.data, out=out, device=family.device()
    )

    group_column = request.group_column or config.validation_group_column
    data = _read(request.data, request, config, storage, group_column=group_column)
    base = _base_model(request, config, family, storage) if request.base_model else None
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
    log.emit(events.SPLIT, **split.describe())

    assert data.rows is not None
    recording = _Recording(log)  # the per-epoch validation lines, for metrics and the report
    fitted = family.fit(
        config,
        TrainingData(
            texts=data.texts,
            y=y_all,
            split=split,
            rows=np.asarray(data.rows, dtype=np.int64),
            source=request.data,
            base=base,
            storage=storage,
        ),
        recording,
    )
    log.emit(
        events.DATA,
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
        "device": fitted.device,
        "data": request.data,
        "history": recording.validation,
    }
    if fitted.confidence is not None and len(split.validation):
        correct = fitted.predicted == y_all[split.validation]
        metrics["calibration"] = report.calibration(fitted.confidence, correct)
        metrics["review"] = review.choose_thresholds(
            fitted.predicted,
            fitted.confidence,
            y_all[split.validation],
            labels,
            config.review_target_precision,
        )
        log.emit(
            "review_threshold",
            target_precision=config.review_target_precision,
            coverage=metrics["review"]["coverage"],
            precision=metrics["review"]["precision"],
        )
    metrics["shift"] = shift.baseline(y_all[split.train], labels, fitted.confidence, fitted.unseen)
    seen = versions.read_pointer(out, storage)
    gate = _gate(request, config, family, labels, data, split, fitted, out, seen, base, storage)
    metrics["promotion"] = gate.to_dict()
    with tempfile.TemporaryDirectory(prefix="textbatch-train-") as tmp:
        manifest = artifacts.write_version(
            Path(tmp),
            weights=fitted.weights,
            spec=fitted.spec,
            transformer=fitted.transformer,
            config=config,
            labels=labels,
            metrics=metrics,
            wants_gpu=family.wants_gpu,
            promotion=gate.to_dict(),
            review=metrics.get("review"),
            shift=metrics["shift"],
            report=lambda version: report.render(
                version=version, architecture=family.name, metrics=metrics,
                history=recording.validation,
            ),
        )  # fmt: skip
        location = artifacts.publish(Path(tmp), manifest, out, storage)
        _publish_copies(Path(tmp), config, storage)
    promoted = gate.promoted
    if promoted:
        try:
            versions.move_pointer(out, manifest.version, storage, seen=seen, reason=gate.reason)
        except Conflict as exc:  # another run or an operator moved it meanwhile: theirs stands
            promoted = False
            log.emit(events.PROMOTION, promoted=False, reason=exc.message, version=manifest.version)
    log.emit(
        events.PROMOTION,
        promoted=promoted,
        reason=gate.reason,
        version=manifest.version,
        metric=gate.metric,
        new=gate.new,
        current=gate.current,
        current_version=gate.current_version,
        rows=gate.rows,
        on=gate.on,
    )
    seconds = time.perf_counter() - started
    log.emit(
        events.DONE,
        version=manifest.version,
        location=location,
        validation_accuracy=metrics["validation"]["accuracy"],
        macro_f1=metrics["validation"]["macro_f1"],
        split=split.by,
        seconds=seconds,
        promoted=promoted,
    )
    return TrainResult(
        manifest.version,
        location,
        metrics,
        len(split.train),
        len(split.validation),
        seconds,
        promoted,
    )


class _Recording:
    """The train job's log, keeping each validation line's fields as it passes them on."""

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self.validation: list[dict[str, Any]] = []

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record = self.log.emit(event, **fields)
        if event == events.VALIDATION:
            self.validation.append(events.fields_of(record))
        return record


def _read(
    uri: str,
    request: TrainRequest,
    config: ModelConfig,
    storage: Storage,
    *,
    group_column: str | None = None,
) -> LabelledTexts:
    """A labelled file's rows, its columns as the request or else the config names them."""
    with storage.local_copy(uri) as path:
        return read_labelled(
            path,
            name=uri,
            text_column=request.text_column or config.text_column,
            label_column=request.label_column or config.label_column,
            group_column=group_column,
        )


def _gate(
    request: TrainRequest,
    config: ModelConfig,
    family: Family,
    labels: list[str],
    data: LabelledTexts,
    split: Split,
    fitted: families.Fitted,
    out: str,
    seen: versions.Pointer,
    base: Model | None,
    storage: Storage,
) -> versions.Gate:
    """Score the new version and the one serving now on the same held-out rows: the run's
    validation rows (the new version's predictions of them from before it saw them), or the
    rows of --eval-data (both versions as published). The gate decides on the scores."""
    if request.eval_data:
        held = _read(request.eval_data, request, config, storage)
        texts, truth, on = held.texts, held.labels, request.eval_data
        # the new version as it will be published (no manifest yet: the gate goes in it)
        new_model = Model(None, fitted.spec, fitted.weights, fitted.transformer, config, labels)  # type: ignore[arg-type]
        new_predicted = _predicted(family.classifier(new_model), texts)
    else:
        texts = [data.texts[i] for i in split.validation]
        truth = [data.labels[i] for i in split.validation]
        new_predicted = [labels[i] for i in fitted.predicted]
        on = f"validation ({split.by})"
    metric, tolerance = config.promotion_metric, config.promotion_tolerance
    new = versions.score(truth, new_predicted, metric)
    if base is not None and base.manifest.version == seen.version and request.promote == "auto":
        # the serving version with rows added, its own rows and features unchanged
        reason = f"it extends the serving version {seen.version} with {len(data.texts)} rows"
        return versions.Gate(True, reason, request.promote, metric, tolerance, new,
                             current_version=seen.version, rows=len(texts), on=on)  # fmt: skip
    current = None
    if seen.version is not None and request.promote == "auto" and texts:
        model = artifacts.open_model(versions.version_uri(out, seen.version), storage)
        current = versions.score(truth, _predicted(families.classifier_for(model), texts), metric)
    return versions.decide(
        mode=request.promote,
        metric=metric,
        tolerance=tolerance,
        new=new,
        current=current,
        current_version=seen.version,
        rows=len(texts),
        on=on,
        min_rows=config.promotion_min_rows,
    )


def _predicted(classifier: families.Classifier, texts: list[str], chunk: int = 2048) -> list[str]:
    """Each text's predicted label, in chunks (as the predict job reads a file)."""
    found: list[str] = []
    for start in range(0, len(texts), chunk):
        ids = families.predict_texts(classifier, texts[start : start + chunk]).argmax(axis=1)
        found += [classifier.labels[i] for i in ids]
    return found


def _base_model(
    request: TrainRequest, config: ModelConfig, family: Family, storage: Storage
) -> Model:
    """The published version whose rows `--base-model` extends: of a family that can be."""
    assert request.base_model is not None
    if not family.extends_base:
        extendable = ", ".join(f.name for f in families.FAMILIES.values() if f.extends_base)
        raise ConfigError(
            f"--base-model extends a {extendable} model's rows; {request.config} trains "
            f"{config.network}",
            hint=f'use a config with "architecture": "{extendable}", or train without --base-model',
        )
    model = artifacts.open_model(request.base_model, storage)
    if model.spec.architecture != family.name:
        raise ConfigError(
            f"--base-model {request.base_model} is a {model.spec.architecture} model "
            f"({model.manifest.version}); only a {family.name} model takes new rows of a "
            f"{family.name} config without training",
            hint=f"name a version trained with a {family.name} config",
        )
    return model


def _location(value: str | None) -> str | None:
    """A config *URL value as a location: a bare bucket name means that bucket's root."""
    if value is None or is_s3(value):
        return value
    return f"s3://{value}"


def _publish_copies(directory: Path, config: ModelConfig, storage: Storage) -> None:
    """The blog kept the transformer and the config in their own buckets; when those keys are
    set, a copy of each goes there too (the version under --out stays complete on its own)."""
    for key, name in (("TRANSFORMERURL", models.TRANSFORMER), ("MODELCONFIGURL", models.CONFIG)):
        location = _location(getattr(config, key))
        if location is not None:
            storage.upload(directory / name, join(location, name))
