"""The model lifecycle on a local directory: the promotion gate, `textbatch models`, and the
pointer's conditional moves."""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_config
from textbatch.io.storage import Conflict, Storage
from textbatch.jobs.events import EventLog
from textbatch.jobs.train import TrainRequest, run_train
from textbatch.model import versions

SHIPPED = Path(__file__).parents[2] / "config" / "fast.json"


def tenth(sample_train: Path, path: Path) -> Path:
    rows = list(csv.reader(sample_train.open(newline="", encoding="utf-8")))
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([rows[0], *random.Random(0).sample(rows[1:], len(rows) // 10)])
    return path


def train(config: Path, data: Path, out: Path, **request) -> tuple:
    log = io.StringIO()
    result = run_train(
        TrainRequest(config=str(config), data=str(data), out=str(out), **request),
        log=EventLog(log, job="train"),
    )
    gate = next(json.loads(x) for x in log.getvalue().splitlines() if '"promotion"' in x)
    return result, gate


def models(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "textbatch.cli.main", "models", *args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_a_run_on_a_tenth_of_the_data_is_held_back_and_operators_promote_and_roll_back(
    tmp_path, sample_train
) -> None:
    store = tmp_path / "store"
    first, gate = train(SHIPPED, sample_train, store)
    assert first.promoted
    assert gate["reason"] == "the location's first version"
    small, gate = train(SHIPPED, tenth(sample_train, tmp_path / "tenth.csv"), store)
    assert not small.promoted
    assert not gate["promoted"]
    assert gate["reason"].startswith(f"only {gate['rows']} held-out rows")
    assert gate["rows"] < 50
    assert "promotion_min_rows" in gate["reason"]
    pointer = versions.read_pointer(str(store), Storage())
    assert pointer.version == first.version  # the first version still serves
    # the decision is in the version's metrics and manifest too
    manifest = json.loads((store / "models" / small.version / "manifest.json").read_text())
    metrics = json.loads((store / "models" / small.version / "metrics.json").read_text())
    assert manifest["promotion"] == metrics["promotion"]
    assert not manifest["promotion"]["promoted"]

    listed = json.loads(models("list", str(store), "--json").stdout)
    assert [(v["version"], v["latest"]) for v in listed] == [
        (first.version, True),
        (small.version, False),
    ]
    assert [v["gate"]["promoted"] for v in listed] == [True, False]
    done = models("promote", str(store), small.version)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stderr.splitlines()[-1])["verb"] == "promote"  # logged
    assert versions.read_pointer(str(store), Storage()).version == small.version
    assert models("rollback", str(store), "--json").stdout.strip() == json.dumps(
        {"version": first.version, "previous": small.version}
    )
    after = versions.read_pointer(str(store), Storage())
    assert (after.version, after.previous) == (first.version, [])
    # nothing earlier to roll back to now; an unknown version is refused; both exit 1
    assert "no earlier version" in models("rollback", str(store)).stderr
    assert "no version nope" in models("promote", str(store), "nope").stderr
    shown = models("show", str(store), small.version).stdout
    assert f"gate: held back: only {gate['rows']} held-out rows" in shown
    assert f"({small.train_rows} rows)" in shown


@pytest.mark.parametrize(("mode", "promoted"), [("never", False), ("always", True)])
def test_promote_never_and_always_override_the_gate(tmp_path, sample_train, mode, promoted):
    store = tmp_path / "store"
    first, _ = train(SHIPPED, sample_train, store, promote=mode)
    assert first.promoted is promoted
    assert (versions.read_pointer(str(store), Storage()).version == first.version) is promoted


def test_eval_data_scores_both_versions_on_its_rows(tmp_path, sample_train, sample_predict):
    """--eval-data: both versions as published, on the same labelled file."""
    store = tmp_path / "store"
    train(SHIPPED, sample_train, store)
    config = write_config(tmp_path, architecture="knn", n_classes=None, ngram_buckets=1 << 16)
    second, gate = train(config, sample_train, store, eval_data=str(sample_train))
    assert gate["on"] == str(sample_train)
    assert gate["rows"] == 500
    assert gate["current"] is not None
    assert gate["new"] > 0.9
    assert second.promoted is gate["promoted"]


def test_a_pointer_moved_by_another_writer_is_a_conflict_and_is_left_as_it_is(
    tmp_path, sample_train
) -> None:
    store = tmp_path / "store"
    first, _ = train(SHIPPED, sample_train, store)
    second, _ = train(SHIPPED, sample_train, store, promote="never")
    storage = Storage()
    seen = versions.read_pointer(str(store), storage)
    versions.move_pointer(str(store), second.version, storage, seen=seen, reason="operator 1")
    with pytest.raises(Conflict):  # operator 2 read the pointer before operator 1 moved it
        versions.move_pointer(str(store), first.version, storage, seen=seen, reason="operator 2")
    assert versions.read_pointer(str(store), storage).version == second.version
