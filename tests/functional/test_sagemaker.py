"""`textbatch train` under SageMaker's training contract: hyperparameters, the `training`
channel, the model directory and the failure file, as SageMaker lays them out under /opt/ml
(here a directory of the test's, through TEXTBATCH_SAGEMAKER_ROOT)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from textbatch.jobs.sagemaker import ROOT_ENV, SageMakerPaths
from textbatch.sample_data import BUNDLED_DIR

# as the SageMaker SDK sends them: every value a string
HYPERPARAMETERS = {
    "architecture": "nbsvm",
    "n_classes": "null",
    "ngram_buckets": "65536",
    "num_epoch": "3",
    "use_spacy_pretrained": "false",
    "sagemaker_region": '"us-east-1"',  # the SDK's own: not model config
}


def sagemaker_root(root: Path, hyperparameters: dict[str, str], *data: Path) -> SageMakerPaths:
    paths = SageMakerPaths(root)
    paths.hyperparameters.parent.mkdir(parents=True)
    paths.hyperparameters.write_text(json.dumps(hyperparameters))
    paths.channel.mkdir(parents=True)
    for file in data:
        shutil.copy(file, paths.channel / file.name)
    paths.model.mkdir()
    return paths


def train(paths: SageMakerPaths) -> subprocess.CompletedProcess:
    """The image's entrypoint with SageMaker's one argument."""
    return subprocess.run(
        [sys.executable, "-m", "textbatch.cli.main", "train"],
        env={**os.environ, ROOT_ENV: str(paths.root)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_training_job_publishes_its_version_in_the_model_directory(tmp_path) -> None:
    paths = sagemaker_root(tmp_path / "ml", HYPERPARAMETERS, BUNDLED_DIR / "warranty_train.csv")
    done = train(paths)
    assert done.returncode == 0, done.stderr[-2000:]
    latest = json.loads((paths.model / "models" / "latest.json").read_text())
    version = paths.model / "models" / latest["version"]
    config = json.loads((version / "config.json").read_text())
    assert (config["architecture"], config["ngram_buckets"], config["num_epoch"]) == (
        "nbsvm",
        65536,
        3,
    )
    assert "sagemaker_region" not in config
    assert not paths.failure.exists()
    # what SageMaker uploads as model.tar.gz is a location `textbatch predict` reads as it is
    predicted = subprocess.run(
        [sys.executable, "-m", "textbatch.cli.main", "predict", "--model", str(paths.model),
         "--input", str(BUNDLED_DIR / "warranty_predict.csv"), "--output", str(tmp_path / "r")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    summary = json.loads((tmp_path / "r" / "warranty_predict_output.json").read_text())
    assert summary["model_version"] == latest["version"]


@pytest.mark.parametrize(
    ("hyperparameters", "files", "message"),
    [
        ({**HYPERPARAMETERS, "num_epoch": "many"}, 1, "num_epoch"),
        (HYPERPARAMETERS, 2, "the `training` channel holds 2 CSV files"),
        (HYPERPARAMETERS, 0, "the `training` channel holds 0 CSV files"),
    ],
    ids=["bad-hyperparameter", "two-files", "no-file"],
)
def test_a_failure_is_written_where_sagemaker_reads_its_reason(
    tmp_path, hyperparameters, files, message
) -> None:
    data = [BUNDLED_DIR / "warranty_train.csv", BUNDLED_DIR / "warranty_predict.csv"][:files]
    paths = sagemaker_root(tmp_path / "ml", hyperparameters, *data)
    done = train(paths)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert message in paths.failure.read_text()
    assert message in done.stderr
    assert not (paths.model / "models").exists()


def test_train_without_options_outside_sagemaker_says_what_it_needs(tmp_path) -> None:
    done = train(SageMakerPaths(tmp_path / "nothing"))
    assert done.returncode == 1
    assert "train needs --config and --input" in done.stderr
