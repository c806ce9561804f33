"""A model version on disk or in S3: self-describing, checksummed, published atomically.

A version directory holds the weights (safetensors: loading runs no code), the network spec,
the transformer, the resolved config, the labels, the metrics and a manifest with the sha256
of every other file. Published under `<location>/models/<version>/`; `<location>/models/latest.json`
is written only after every file of the version is in place.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file
from textbatch_contract import models
from textbatch_contract.models import (
    ARCHITECTURE,
    CONFIG,
    DOCUMENTS,
    LABELS,
    LATEST,
    MANIFEST,
    METRICS,
    REPORT,
    SPEC,
    TRANSFORMER,
    WANTS_GPU,
    UnsafeName,
    plain_name,
)

from textbatch import __version__
from textbatch.config import COMMON_RULES, ModelConfig, build_config
from textbatch.errors import ArtifactError, StorageError, TextbatchError
from textbatch.io.storage import Storage, join
from textbatch.model import blend, hashing, wordpiece
from textbatch.model.blend import BlendText
from textbatch.model.hashing import HashingFeaturizer
from textbatch.model.spec import ModelSpec
from textbatch.model.transformer import TextTransformer
from textbatch.model.wordpiece import WordPieceText

Transformer = TextTransformer | HashingFeaturizer | WordPieceText | BlendText

FORMAT = "textbatch.model/1"
_SHA256 = re.compile(r"[0-9a-f]{64}")
# the manifest's fields and the JSON types each must have
_FIELD_TYPES = {"format": str, "version": str, "created_at": str, "textbatch_version": str,
                ARCHITECTURE: str, WANTS_GPU: bool, "weights": str, "files": dict,
                "promotion": dict, "review": dict, "shift": dict}  # fmt: skip


@dataclass(frozen=True)
class Manifest:
    format: str
    version: str
    created_at: str
    textbatch_version: str
    architecture: str
    wants_gpu: bool
    weights: str
    files: dict[str, str]  # file name -> sha256
    promotion: dict[str, Any] | None = None  # the promotion gate's decision (versions.Gate)
    review: dict[str, Any] | None = None  # its review thresholds (textbatch.model.review)
    shift: dict[str, Any] | None = None  # what files are compared with (textbatch.model.shift)

    def to_json(self) -> str:
        fields = {k: v for k, v in asdict(self).items() if v is not None}  # promotion: optional
        return json.dumps(fields, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, source: str) -> Manifest:
        """A manifest whose names are plain file names and that lists every file a version
        has: its names become paths, and a version missing a file cannot be loaded."""
        try:
            raw = json.loads(text)
            if not isinstance(raw, dict):
                raise ValueError(f"a JSON {type(raw).__name__}, not an object")
            if raw.get("format") != FORMAT:
                raise ArtifactError(f"{source}: format {raw.get('format')!r}, expected {FORMAT!r}")
            wrong = [
                f"{key} is {type(raw.get(key)).__name__}, not {kind.__name__}"
                for key, kind in _FIELD_TYPES.items()
                if key in raw and not isinstance(raw[key], kind)
            ]
            files = raw.get("files")
            if isinstance(files, dict):
                wrong += [
                    f"files[{name!r}] is not a sha256"
                    for name, digest in files.items()
                    if not isinstance(digest, str) or not _SHA256.fullmatch(digest)
                ]
            if wrong:
                raise ValueError("; ".join(wrong))
            manifest = cls(**raw)
            plain_name(manifest.version, what="the version")
            for name in [manifest.weights, *manifest.files]:
                plain_name(name, what="the file name")
        except UnsafeName as exc:
            raise ArtifactError(
                f"{source}: {exc}; refusing to use the model",
                hint="the manifest was changed after training; publish the model again",
            ) from exc
        except (TypeError, ValueError, AttributeError) as exc:
            raise ArtifactError(f"{source}: not a textbatch model manifest ({exc})") from exc
        missing = sorted({manifest.weights, *DOCUMENTS} - set(manifest.files))
        if missing:
            raise ArtifactError(
                f"{source}: model {manifest.version} lists no {', '.join(missing)}",
                hint="publish the model again with `textbatch train`",
            )
        return manifest


@dataclass(frozen=True)
class Model:
    """A loaded model version: everything prediction needs. Loading it needs no torch: the
    weights are numpy arrays (torch networks are built from them by the classifier)."""

    manifest: Manifest
    spec: ModelSpec
    weights: dict[str, np.ndarray]
    transformer: Transformer
    config: ModelConfig
    labels: list[str]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_version(
    directory: Path,
    *,
    weights: dict[str, np.ndarray],
    spec: ModelSpec,
    transformer: Transformer,
    config: ModelConfig,
    labels: list[str],
    metrics: dict[str, Any],
    wants_gpu: bool,
    promotion: dict[str, Any] | None = None,
    review: dict[str, Any] | None = None,
    shift: dict[str, Any] | None = None,
    report: Callable[[str], str] | None = None,
) -> Manifest:
    """Write a complete version into an empty directory and return its manifest. `weights`:
    a network's state dict as numpy arrays, or a numpy model's tables; `wants_gpu`: the
    family's (the trigger routes the version's predict jobs by it); `report`: the version's
    report.html from its name."""
    directory.mkdir(parents=True, exist_ok=True)
    weights_file = config.save_name
    save_file(
        {k: np.ascontiguousarray(v) for k, v in weights.items()}, str(directory / weights_file)
    )
    created = datetime.now(UTC)
    version = f"{created:%Y%m%dT%H%M%SZ}-{sha256(directory / weights_file)[:8]}"
    documents = {
        SPEC: json.dumps(spec.to_dict(), indent=2),
        TRANSFORMER: transformer.to_json(),
        CONFIG: json.dumps(config.to_dict(), indent=2),
        LABELS: json.dumps(labels, ensure_ascii=False),
        METRICS: json.dumps(metrics, indent=2, ensure_ascii=False),
        **({REPORT: report(version)} if report else {}),
    }
    for name, text in documents.items():
        (directory / name).write_text(text, encoding="utf-8")
    files = {name: sha256(directory / name) for name in [weights_file, *documents]}
    manifest = Manifest(
        format=FORMAT,
        version=version,
        # to the millisecond: two runs of one second still list in the order they were made
        created_at=created.isoformat(timespec="milliseconds"),
        textbatch_version=__version__,
        architecture=spec.architecture,
        wants_gpu=wants_gpu,
        weights=weights_file,
        files=files,
        promotion=promotion,
        review=review,
        shift=shift,
    )
    (directory / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def publish(directory: Path, manifest: Manifest, location: str, storage: Storage) -> str:
    """Copy a version under `location/models/<version>/`, its manifest last. Which version
    serves (`models/latest.json`) is the promotion's to move: textbatch.model.versions."""
    prefix = join(join(location, models.MODELS_DIR), manifest.version)
    for name in [*manifest.files, MANIFEST]:
        storage.upload(directory / name, join(prefix, name))
    return prefix


def resolve_version(location: str, storage: Storage) -> str:
    """The version directory a location means: itself if it holds a manifest, else the version
    that `models/latest.json` under it names."""
    try:
        found = models.resolve_version(location, storage.read_json_or_none)
    except UnsafeName as exc:
        raise ArtifactError(
            f"{location}: {exc}; refusing to use it",
            hint="point models/latest.json at a published version (`textbatch train` does)",
        ) from exc
    if found is not None:
        return found[0]
    raise ArtifactError(
        f"no model at {location}: neither {MANIFEST} nor models/{LATEST} is there",
        hint="pass a model version directory, or the location `textbatch train --out` wrote to",
    )


def fetch_version(location: str, storage: Storage, workdir: Path) -> Path:
    """Copy a version to `workdir` and verify every file against the manifest."""
    version_uri = resolve_version(location, storage)
    manifest = Manifest.from_json(
        storage.read_text(join(version_uri, MANIFEST)), source=version_uri
    )
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    for name, expected in manifest.files.items():
        try:
            storage.download(join(version_uri, name), workdir / name)
        except StorageError as exc:
            raise ArtifactError(
                f"model {manifest.version} is incomplete: {name} is missing ({exc.message})",
                hint="publish the model again with `textbatch train`",
            ) from exc
        if sha256(workdir / name) != expected:
            raise ArtifactError(
                f"model {manifest.version}: {name} does not match its checksum in the manifest",
                hint="the file was changed or damaged after training; publish the model again",
            )
    return workdir


def load_version(directory: Path) -> Model:
    """Rebuild a model from a verified version directory alone. Whatever goes wrong while
    reading a file is an ArtifactError naming the version and the file."""
    manifest = Manifest.from_json((directory / MANIFEST).read_text("utf-8"), source=str(directory))

    def document(name: str) -> Any:
        with loading(manifest.version, name):
            return json.loads((directory / name).read_text("utf-8"))

    with loading(manifest.version, SPEC):
        spec = ModelSpec(**document(SPEC))
    with loading(manifest.version, CONFIG):
        # its checksum matched: the config the train job validated (the shared keys again)
        config = build_config(document(CONFIG), source=CONFIG, rules=COMMON_RULES)
    with loading(manifest.version, manifest.weights):
        weights = load_file(str(directory / manifest.weights))
    with loading(manifest.version, TRANSFORMER):
        transformer = load_transformer((directory / TRANSFORMER).read_text("utf-8"))
    with loading(manifest.version, LABELS):
        labels = document(LABELS)
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise ValueError("not a list of label names")
    return Model(
        manifest=manifest,
        spec=spec,
        weights=weights,
        transformer=transformer,
        config=config,
        labels=list(labels),
    )


@contextmanager
def loading(version: str, name: str) -> Iterator[None]:
    """Any foreign error reading `name` of a model version becomes an ArtifactError naming both.
    Our own errors pass as they are: a Stopped (SIGTERM while loading) is a stop, not a bad file."""
    try:
        yield
    except TextbatchError:
        raise
    except Exception as exc:  # a damaged file can fail in any parser: each one is reported
        raise ArtifactError(
            f"model {version}: cannot load {name} ({type(exc).__name__}: {exc})",
            hint="publish the model again with `textbatch train`",
        ) from exc


def load_transformer(text: str, *, source: str = TRANSFORMER) -> Transformer:
    """A vocabulary transformer or a hashing featurizer, by the format the file names."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ArtifactError(f"{source}: not JSON ({exc})") from exc
    if isinstance(raw, dict) and raw.get("format") == hashing.FORMAT:
        return HashingFeaturizer.from_dict(raw, source=source)
    if isinstance(raw, dict) and raw.get("format") == wordpiece.FORMAT:
        return WordPieceText.from_dict(raw, source=source)
    if isinstance(raw, dict) and raw.get("format") == blend.FORMAT:
        return BlendText.from_dict(
            raw, source=source, load_partner=lambda text: load_transformer(text, source=source)
        )
    return TextTransformer.from_json(text, source=source)


def open_model(location: str, storage: Storage) -> Model:
    with tempfile.TemporaryDirectory(prefix="textbatch-model-") as tmp:
        return load_version(fetch_version(location, storage, Path(tmp)))
