"""The model lifecycle in the local cloud: a Batch train job's promotion gate, and `textbatch
models` on the stage's models bucket (S3 conditional writes on LocalStack)."""

from __future__ import annotations

import csv
import json
import random
import re

from tests.e2e.conftest import SMALL_MODEL
from textbatch.sample_data import BUNDLED_DIR


def test_a_train_job_on_a_tenth_of_the_data_is_held_back_and_operators_move_the_pointer(
    cloud, model_version, tmp_path
) -> None:
    rows = list(csv.reader((BUNDLED_DIR / "warranty_train.csv").open(newline="")))
    small = tmp_path / "tenth.csv"
    with small.open("w", newline="") as f:
        csv.writer(f).writerows([rows[0], *random.Random(0).sample(rows[1:], len(rows) // 10)])
    config = tmp_path / "config.json"
    config.write_text(json.dumps(SMALL_MODEL))
    s3, bucket = cloud.client("s3"), cloud.bucket("models")

    def latest() -> dict:
        return json.loads(s3.get_object(Bucket=bucket, Key="models/latest.json")["Body"].read())

    trained = cloud.train(config, data=small)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert "not promoted: only " in trained.stdout
    assert "the gate needs 50 (promotion_min_rows)" in trained.stdout
    assert latest()["version"] == model_version  # the session's model still serves
    location = f"s3://{bucket}/"
    listed = cloud.textbatch("models", "list", location, "--json")
    assert listed.returncode == 0, listed.stderr
    found = {v["version"]: v for v in json.loads(listed.stdout)}
    [held] = re.findall(r"model (\S+) published to", trained.stdout)
    assert not found[held]["gate"]["promoted"]
    assert found[model_version]["latest"]
    assert found[held]["train_rows"] < 50
    try:
        promoted = cloud.textbatch("models", "promote", location, held)
        assert promoted.returncode == 0, promoted.stderr
        assert latest()["version"] == held
        assert latest()["previous"][0] == model_version
    finally:
        back = cloud.textbatch("models", "rollback", location)
    assert back.returncode == 0, back.stderr
    assert latest()["version"] == model_version
