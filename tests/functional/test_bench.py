"""The benchmark end to end on small data: real training, real subprocess jobs, real peer."""

from __future__ import annotations

import gzip
import json

from tests.conftest import write_config
from textbatch.bench.run import run_bench, split_data, table
from textbatch.sample_data import generate, write_csv


def test_bench_compares_configurations_with_the_peer_in_one_table(tmp_path) -> None:
    write_csv(tmp_path / "train.csv", generate(300, seed=11))
    write_csv(tmp_path / "test.csv", generate(100, seed=12))
    config = write_config(
        tmp_path, architecture="bag", tokenizer="fast", ngram_buckets=1000, num_epoch=6
    )
    rows = run_bench(tmp_path / "train.csv", tmp_path / "test.csv", [config], tmp_path / "out")
    assert [r.name for r in rows] == ["config", "sklearn tfidf+logreg"]
    ours, peer = rows
    assert ours.rows == peer.rows == 100
    assert ours.accuracy > 0.5  # five classes: chance is 0.2
    assert peer.accuracy > 0.5
    assert ours.forward_rows_per_s > 0
    assert peer.forward_rows_per_s is None
    assert ours.predict_peak_rss_mib > 50  # a real process was measured
    saved = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert [r["name"] for r in saved] == ["config", "sklearn tfidf+logreg"]
    printed = table(rows)
    assert printed.splitlines()[-1].startswith("| sklearn tfidf+logreg |")
    assert "1.00x" in printed.splitlines()[-1]


def test_split_data_is_seeded_and_reads_gzip(tmp_path) -> None:
    write_csv(tmp_path / "all.csv", generate(50, seed=1))
    with gzip.open(tmp_path / "all.csv.gz", "wb") as f:
        f.write((tmp_path / "all.csv").read_bytes())
    train, test = split_data(tmp_path / "all.csv.gz", tmp_path / "split", test_fraction=0.2, seed=0)
    again = split_data(tmp_path / "all.csv", tmp_path / "split2", test_fraction=0.2, seed=0)
    assert train.read_text() == again[0].read_text()
    assert len(test.read_text(encoding="utf-8").splitlines()) < len(
        train.read_text(encoding="utf-8").splitlines()
    )
    header = (tmp_path / "all.csv").read_text(encoding="utf-8").splitlines()[0]
    assert test.read_text(encoding="utf-8").splitlines()[0] == header
