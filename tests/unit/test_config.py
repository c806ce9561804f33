from __future__ import annotations

import json
from pathlib import Path

import pytest

from textbatch.config import ModelConfig, check_labels
from textbatch.errors import ConfigError
from textbatch.families import config_from_dict, parse_config

BLOG_KEYS = {
    "n_classes", "num_epoch", "optimizer", "seq_len", "vocab_size", "batch_size", "hidden_size",
    "embed_size", "dropout", "n_layers", "bidirectional", "train_log_interval", "val_log_interval",
    "learning_rate", "use_spacy_pretrained", "save_name", "MODELPARAMSURL", "TRANSFORMERURL",
    "MODELCONFIGURL", "epoch_factor", "power_decay", "cnn", "wd", "kernel_size",
}  # fmt: skip
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "config.json"


def test_shipped_config_has_every_blog_key_with_the_blog_values() -> None:
    raw = json.loads(SHIPPED.read_text())
    assert set(raw) == BLOG_KEYS
    config = config_from_dict(raw)
    assert (config.seq_len, config.vocab_size, config.kernel_size, config.cnn) == (
        500,
        5000,
        8,
        True,
    )
    assert (config.learning_rate, config.wd, config.dropout) == (0.001, 0.0002, 0.2)


def test_defaults_are_the_blog_values() -> None:
    assert config_from_dict({}) == config_from_dict(json.loads(SHIPPED.read_text()))


def test_unknown_key_names_the_key_and_suggests_the_near_one() -> None:
    with pytest.raises(ConfigError, match="unknown key 'lerning_rate'") as info:
        config_from_dict({"lerning_rate": 0.1}, source="my.json")
    assert "did you mean 'learning_rate'?" in str(info.value)
    assert "my.json" in str(info.value)
    assert "docs/configuration.md" in info.value.hint
    with pytest.raises(ConfigError) as info:  # nothing near: no guess, and not all 40 keys
        config_from_dict({"zzzz": 1}, source="my.json")
    assert "did you mean" not in str(info.value)
    assert "learning_rate" not in str(info.value) + info.value.hint


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("dropout", 1.0, "from 0 up to (not including) 1"),
        ("dropout", -0.1, "from 0 up to"),
        ("seq_len", 0, ">= 1"),
        ("n_classes", 1, ">= 2"),
        ("batch_size", "64", ">= 1"),
        ("num_epoch", True, ">= 1"),
        ("cnn", "yes", "true or false"),
        ("optimizer", "adamax", "one of adam, adamw, sgd, rmsprop"),
        ("learning_rate", 0, "> 0"),
        ("MODELPARAMSURL", "Not A Bucket", "S3 bucket name"),
        ("save_name", "../escape", "file name"),
        # names the loader refuses (textbatch_contract.models): refused when configured
        ("save_name", "manifest.json", "other than a version's own files"),
        ("save_name", "config.json", "other than a version's own files"),
        ("save_name", "_weights.bin", "plain file name"),
        ("save_name", "gewichte-ä.bin", "plain file name"),
    ],
)
def test_invalid_values_name_the_key_and_what_is_allowed(key, value, expected) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict({key: value})
    message = str(info.value)
    assert f"{key} = {json.dumps(value)}" in message
    assert expected in message


def test_url_keys_accept_bucket_names_and_s3_uris() -> None:
    config = config_from_dict(
        {"MODELPARAMSURL": "my-models", "TRANSFORMERURL": "s3://my-models/transformers/"}
    )
    assert config.MODELPARAMSURL == "my-models"


def test_kernel_longer_than_sequence_is_rejected_for_cnn_only() -> None:
    with pytest.raises(ConfigError, match="kernel_size = 8 is longer than seq_len = 4"):
        config_from_dict({"seq_len": 4})
    assert config_from_dict({"seq_len": 4, "cnn": False}).seq_len == 4


def test_not_json_says_where() -> None:
    with pytest.raises(ConfigError, match=r"c.json: not valid JSON \(line 1, column"):
        parse_config("{'n_classes': 2}", source="c.json")


def test_integers_are_accepted_for_float_keys() -> None:
    config = config_from_dict({"dropout": 0, "learning_rate": 1})
    assert isinstance(config.dropout, float)
    assert isinstance(config.learning_rate, float)


def test_n_classes_must_match_the_labels() -> None:
    check_labels(ModelConfig(n_classes=3), ["a", "b", "c"], source="d.csv")
    with pytest.raises(
        ConfigError, match=r"n_classes = 2, but d.csv has 3 distinct labels"
    ) as info:
        check_labels(ModelConfig(n_classes=2), ["a", "b", "c"], source="d.csv")
    assert "set n_classes to 3" in info.value.hint


def test_architecture_defaults_to_the_blog_cnn_flag() -> None:
    assert config_from_dict({}).network == "cnn"
    assert config_from_dict({"cnn": False}).network == "lstm"
    assert config_from_dict({"architecture": "bag", "tokenizer": "fast"}).network == "bag"
    with pytest.raises(
        ConfigError,
        match='architecture = "svm" is invalid; expected null or one of cnn, lstm, bag, '
        "nb_linear, nbsvm",
    ):
        config_from_dict({"architecture": "svm"})
    with pytest.raises(ConfigError, match="tokenizer"):
        config_from_dict({"tokenizer": "nltk"})


def test_n_classes_null_takes_the_labels_of_the_data() -> None:
    config = config_from_dict({"n_classes": None})
    check_labels(config, ["a", "b", "c", "d", "e"], source="d.csv")  # no error
    with pytest.raises(ConfigError, match="or null"):
        config_from_dict({"n_classes": 1})


def test_every_config_key_has_one_check_in_the_config_or_in_a_family() -> None:
    """A family's own keys are checked by its rules (textbatch.families), the shared ones by
    the config's; no key is checked twice and none is left unchecked."""
    from dataclasses import fields

    from textbatch import config, families
    from textbatch.families import encoder, knn, nbsvm, networks

    own = [networks.RULES, nbsvm.RULES, knn.RULES, encoder.RULES, config.COMMON_RULES]
    assert sum(len(rules) for rules in own) + 1 == len(families.RULES)  # + architecture
    assert set(families.RULES) == {f.name for f in fields(ModelConfig)}
