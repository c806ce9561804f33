"""The encoder family through the jobs, on a tiny random encoder made in the test (CPU): it
trains and predicts, its version carries its tokenizer and needs neither the network nor the
encoder it came from, an encoder of one's own comes from S3 pinned by hash, and a changed file
is refused whether it is the pretrained weights or the version's."""

from __future__ import annotations

import csv
import io
import json
import shutil
import socket
from pathlib import Path

import pytest

from tests.conftest import write_config
from textbatch.errors import ArtifactError, ConfigError
from textbatch.families import classifier_for, predict_texts
from textbatch.io.storage import Storage
from textbatch.jobs.events import EventLog
from textbatch.jobs.predict import PredictRequest, run_predict
from textbatch.jobs.render import training_line
from textbatch.jobs.train import TrainRequest, run_train
from textbatch.model import pretrained
from textbatch.model.artifacts import open_model


def train(config: Path, data: Path, out: Path, storage: Storage | None = None) -> list[dict]:
    log = io.StringIO()
    run_train(
        TrainRequest(config=str(config), data=str(data), out=str(out)),
        storage=storage,
        log=EventLog(log, job="train"),
    )
    return [json.loads(line) for line in log.getvalue().splitlines()]


@pytest.fixture
def own_encoder(tiny_encoder, tmp_path) -> dict:
    """A copy of the tiny encoder that a test may change or delete."""
    directory = tmp_path / "encoder"
    shutil.copytree(tiny_encoder["encoder"], directory)
    return {**tiny_encoder, "encoder": str(directory)}


def test_it_trains_predicts_and_its_version_needs_no_network_nor_its_encoder(
    own_encoder, tmp_path, sample_train, sample_predict, monkeypatch
) -> None:
    config = write_config(tmp_path, n_classes=None, num_epoch=3, **own_encoder)
    logged = train(config, sample_train, tmp_path / "store")
    [start] = [e for e in logged if e["event"] == "encoder"]
    assert start["sha256"] == own_encoder["encoder_sha256"]
    assert start["layers"] == 2
    accuracies = [e["accuracy"] for e in logged if e["event"] == "validation"]
    assert len(accuracies) == 3
    shutil.rmtree(own_encoder["encoder"])  # the version holds all it needs

    def no_network(*args, **kwargs):
        raise OSError("the network was used")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    model = open_model(str(tmp_path / "store"), Storage())
    assert model.manifest.wants_gpu
    assert model.spec.encoder["sha256"][pretrained.WEIGHTS] == own_encoder["encoder_sha256"]
    run_predict(
        PredictRequest(
            model=str(tmp_path / "store"), input=str(sample_predict), output=str(tmp_path / "out")
        ),
        log=EventLog(io.StringIO(), job="predict"),
    )
    with open(tmp_path / "out" / f"{sample_predict.stem}_output.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with open(sample_predict, encoding="utf-8") as f:
        assert len(rows) == sum(1 for _ in csv.DictReader(f))
    assert {r["prediction"] for r in rows} <= set(model.labels)
    probabilities = predict_texts(classifier_for(model), [r["text"] for r in rows[:5]])
    assert probabilities.sum(axis=1) == pytest.approx([1.0] * 5, abs=1e-4)


def test_a_changed_pretrained_weight_file_trains_nothing(own_encoder, tmp_path, sample_train):
    weights = Path(own_encoder["encoder"]) / pretrained.WEIGHTS
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # one bit of the last weight
    weights.write_bytes(bytes(data))
    config = write_config(tmp_path, n_classes=None, num_epoch=1, **own_encoder)
    with pytest.raises(ConfigError, match="not the pinned"):
        train(config, sample_train, tmp_path / "store")
    assert not (tmp_path / "store").exists()


def test_a_changed_file_of_a_published_encoder_version_is_refused(
    tiny_encoder, tmp_path, sample_train
) -> None:
    config = write_config(tmp_path, n_classes=None, num_epoch=1, **tiny_encoder)
    train(config, sample_train, tmp_path / "store")
    [version] = [p for p in (tmp_path / "store" / "models").iterdir() if p.is_dir()]
    document = json.loads((version / "transformer.json").read_text())
    document["head_tokens"] = 0  # still a valid document: only its checksum can tell
    (version / "transformer.json").write_text(json.dumps(document))
    with pytest.raises(ArtifactError, match=r"transformer\.json does not match its checksum"):
        open_model(str(tmp_path / "store"), Storage())


def test_an_encoder_of_ones_own_comes_from_s3_pinned_by_hash(
    tiny_encoder, tmp_path, sample_train, s3, bucket, storage
) -> None:
    for name in pretrained.FILES:
        s3.upload_file(str(Path(tiny_encoder["encoder"]) / name), bucket, f"encoders/tiny/{name}")
    settings = {**tiny_encoder, "encoder": f"s3://{bucket}/encoders/tiny/"}
    config = write_config(tmp_path, n_classes=None, num_epoch=1, **settings)
    logged = train(config, sample_train, tmp_path / "store", storage)
    assert any(e["event"] == "encoder" and e["source"].startswith("s3://") for e in logged)
    (tmp_path / "b").mkdir()
    unpinned = write_config(tmp_path / "b", n_classes=None, num_epoch=1,
                            **{**settings, "encoder_sha256": None})  # fmt: skip
    with pytest.raises(ConfigError, match="encoder_sha256 is not set") as e:
        train(unpinned, sample_train, tmp_path / "store-b", storage)
    assert tiny_encoder["encoder_sha256"] in e.value.hint


@pytest.mark.parametrize("name", ["encoder.json", "encoder-fast.json"])
def test_the_shipped_encoder_configs_are_valid_and_name_the_pinned_package(name) -> None:
    """encoder-fast.json is encoder.json with fast.json's nbsvm as its ensemble partner."""
    from textbatch.families import parse_config

    shipped = Path(__file__).parents[2] / "config"
    config = parse_config((shipped / name).read_text(), source=name)
    assert config.network == "encoder"
    assert config.encoder in pretrained.PINNED
    assert config.head_tokens <= config.seq_len - 2
    alone = json.loads((shipped / "encoder.json").read_text())
    if name == "encoder-fast.json":
        fast = json.loads((shipped / "fast.json").read_text())
        raw = json.loads((shipped / name).read_text())
        assert {k: v for k, v in raw.items() if k != "ensemble"} == alone
        assert {**fast, **raw["ensemble"]} == fast  # fast.json's values, none changed


def test_an_ensemble_with_nbsvm_blends_by_the_weight_the_validation_rows_chose(
    tiny_encoder, tmp_path, sample_train, sample_predict
) -> None:
    """`ensemble`: nbsvm fitted on the same rows, the probabilities averaged with the weight
    that scored best on the validation rows (the encoder alone and nbsvm alone are two of the
    weights tried, so the blend is never below either there); the version predicts exactly
    that blend, and the report's epochs are the encoder's alone."""
    import dataclasses

    import numpy as np

    from textbatch.families.encoder import EncoderTextClassifier

    partner = {"architecture": "nbsvm", "ngram_buckets": 1 << 16, "num_epoch": 4,
               "min_df": 1, "refit": True}  # fmt: skip
    config = write_config(tmp_path, n_classes=None, num_epoch=2, ensemble=partner, **tiny_encoder)
    logged = train(config, sample_train, tmp_path / "store")
    [blend] = [e for e in logged if e["event"] == "ensemble"]
    assert blend["accuracy"] >= max(blend["encoder_accuracy"], blend["partner_accuracy"])
    shown = [training_line(e) for e in logged]  # what a terminal and `train --follow` draw
    assert any(s and s.startswith("ensemble with nbsvm: the encoder's weight") for s in shown)
    assert any(s and s.startswith("encoder ") and "(pinned, checked)" in s for s in shown)
    assert len([e for e in logged if e["event"] == "validation"]) == 2  # the encoder's epochs
    assert any(e["event"] == "ensemble_refit" for e in logged)
    model = open_model(str(tmp_path / "store"), Storage())
    assert model.spec.encoder["ensemble"]["weight"] == blend["weight"]
    texts = ["the screen cracked on arrival", "water leaked onto the floor", "late again"]
    together = predict_texts(classifier_for(model), texts)
    alone = dataclasses.replace(
        model,
        spec=dataclasses.replace(
            model.spec, encoder={k: v for k, v in model.spec.encoder.items() if k != "ensemble"}
        ),
        weights={k: v for k, v in model.weights.items() if not k.startswith("ensemble.")},
        transformer=model.transformer.encoder,
    )
    encoder_only = predict_texts(EncoderTextClassifier(alone), texts)
    blended = classifier_for(model)
    partner_only = blended.partner.predict(blended.partner.prepare(texts))
    w = blend["weight"]
    np.testing.assert_allclose(together, w * encoder_only + (1 - w) * partner_only, atol=1e-6)
    run_predict(  # the predict job, its workers preparing both models' features
        PredictRequest(
            model=str(tmp_path / "store"), input=str(sample_predict), output=str(tmp_path / "out")
        ),
        log=EventLog(io.StringIO(), job="predict"),
    )
    summary = json.loads((tmp_path / "out" / f"{sample_predict.stem}_output.json").read_text())
    assert summary["rows_predicted"] == summary["rows_in"] > 0


def test_an_ensemble_takes_a_second_model_of_another_family_checked_as_any_config() -> None:
    from textbatch.families import config_from_dict

    with pytest.raises(ConfigError, match="ensemble is another encoder"):
        config_from_dict({"architecture": "encoder", "ensemble": {"architecture": "encoder"}})
    with pytest.raises(ConfigError, match=r"config: ensemble: ngram_buckets = 1000 does not suit"):
        config_from_dict(
            {
                "architecture": "encoder",
                "ensemble": {"architecture": "nbsvm", "ngram_buckets": 1000},
            }
        )
