"""Every registered model family, through the train job and a classifier: what the registry
promises the trigger (wants_gpu in the manifest) and what `train --wait` reads (each train
event's fields, textbatch_contract.events.TRAIN_FIELDS)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from textbatch_contract import events

from tests.conftest import write_config
from textbatch import families
from textbatch.cloud.training import describe_training_line
from textbatch.io.storage import Storage
from textbatch.jobs.events import EventLog
from textbatch.jobs.train import TrainRequest, run_train
from textbatch.model.artifacts import open_model

# each family's smallest config that trains on the sample claims in seconds
SETTINGS = {
    "nbsvm": {"ngram_buckets": 1 << 16},
    "knn": {"ngram_buckets": 1 << 16},
    "bag": {"tokenizer": "fast", "ngram_buckets": 5000},
    "nb_linear": {"tokenizer": "fast", "ngram_buckets": 5000},
}


@pytest.mark.parametrize("name", families.NAMES)
def test_every_family_trains_publishes_its_traits_and_logs_what_train_wait_reads(
    name, tmp_path, sample_train, request
) -> None:
    settings = (
        request.getfixturevalue("tiny_encoder")  # a tiny random encoder, pinned by its hash
        if name == "encoder"
        else SETTINGS.get(name, {"tokenizer": "fast", "seq_len": 60, "kernel_size": 3})
    )
    config = write_config(
        tmp_path, n_classes=None, num_epoch=2, use_spacy_pretrained=False,
        **{"architecture": name, **settings},
    )  # fmt: skip
    log = io.StringIO()
    run_train(
        TrainRequest(config=str(config), data=str(sample_train), out=str(tmp_path / "store")),
        log=EventLog(log, job="train"),
    )
    lines = log.getvalue().splitlines()
    logged = [json.loads(line) for line in lines]
    for event in logged:
        wanted = events.TRAIN_FIELDS.get(event["event"], ())
        assert set(wanted) <= set(event), (
            f"{name}: {event['event']} lacks {set(wanted) - set(event)}"
        )
    assert {events.SPLIT, events.VALIDATION, events.DATA, events.DONE} <= {
        e["event"] for e in logged
    }
    shown = [describe_training_line(line) for line in lines]  # none raises
    assert any(s and s.startswith("epoch 1: validation accuracy") for s in shown)
    model = open_model(str(tmp_path / "store"), Storage())
    family = families.family(name)
    assert (model.manifest.architecture, model.manifest.wants_gpu) == (name, family.wants_gpu)
    probabilities = families.predict_texts(
        families.classifier_for(model), ["the screen cracked", "late delivery"]
    )
    assert probabilities.shape == (2, len(model.labels))


def test_a_family_that_trains_without_torch_trains_where_torch_is_missing(
    tmp_path, sample_train
) -> None:
    """knn and the shipped config/fast.json (nbsvm) in a process that cannot import torch (as
    in the CPU image); a torch family there is refused before its data is read, naming what to
    install."""
    code = (
        "import sys, io; sys.modules['torch'] = None;"
        "from textbatch.jobs.events import EventLog;"
        "from textbatch.jobs.train import TrainRequest, run_train;"
        "from textbatch.errors import ConfigError\n"
        "try:\n"
        "    r = run_train(TrainRequest(config=sys.argv[1], data=sys.argv[2], out=sys.argv[3]),"
        " log=EventLog(io.StringIO(), job='train')); print('trained', r.train_rows)\n"
        "except ConfigError as e: print('refused', e)"
    )
    shipped = Path(__file__).parents[2] / "config" / "fast.json"  # nbsvm, as shipped
    for name in ("knn", "nbsvm", "cnn"):
        (tmp_path / name).mkdir()
        config = (
            shipped
            if name == "nbsvm"
            else write_config(
                tmp_path / name, architecture=name, n_classes=None, ngram_buckets=1 << 16
            )
        )
        args = [str(config), str(sample_train), str(tmp_path / name / "model")]
        done = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
        )
        if name == "cnn":
            assert "training cnn needs torch, which this installation lacks" in done.stdout
            assert "nbsvm and knn train without torch" in done.stdout
        else:
            assert done.stdout.startswith("trained "), done.stdout + done.stderr
