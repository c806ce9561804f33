"""The benchmark end to end on small data: real training, real subprocess jobs, real peer."""

from __future__ import annotations

import csv
import gzip
import json
import pickle
import subprocess
import sys

import pytest

from tests.conftest import write_config
from textbatch.bench.run import make_splits, run_bench, table
from textbatch.errors import InputError
from textbatch.sample_data import generate, write_csv


def _groups(path) -> tuple[list[str], set[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["category"] for r in rows], {r["customer"] for r in rows}


def test_bench_holds_out_customers_and_compares_with_the_peer_in_one_table(tmp_path) -> None:
    write_csv(tmp_path / "claims.csv", generate(500, seed=11))
    splits = make_splits(
        tmp_path / "claims.csv", tmp_path / "data", group_column="customer", test_fraction=0.25
    )
    (fold,) = splits.folds
    _train_labels, train_customers = _groups(fold.train)
    test_labels, test_customers = _groups(fold.test)
    assert train_customers
    assert test_customers
    assert not train_customers & test_customers
    assert "held out by whole groups of `customer`" in splits.description
    config = write_config(tmp_path, architecture="nbsvm", ngram_buckets=1 << 16, n_classes=None)
    rows = run_bench(splits, [config], tmp_path / "out", group_column="customer")
    assert [r.name for r in rows] == ["config", "sklearn tfidf+logreg"]
    ours, peer = rows
    assert ours.test_rows == peer.test_rows == len(test_labels)
    assert ours.accuracy > 0.5
    assert peer.accuracy > 0.5
    assert ours.predict_peak_rss_mib > 50  # a real process was measured
    with open(tmp_path / "out" / "speed.csv", encoding="utf-8", newline="") as f:
        assert sum(1 for _ in csv.reader(f)) - 1 >= 25_000
    saved = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert saved["split"] == splits.description
    assert [r["name"] for r in saved["rows"]] == ["config", "sklearn tfidf+logreg"]
    printed = table(rows, title="claims")
    assert printed.splitlines()[0] == "claims"
    assert printed.splitlines()[-1].startswith("| sklearn tfidf+logreg | ")
    assert "1.00x" in printed.splitlines()[-1]


def test_group_folds_are_seeded_read_gzip_and_keep_groups_apart(tmp_path) -> None:
    write_csv(tmp_path / "all.csv", generate(200, seed=1))
    with gzip.open(tmp_path / "all.csv.gz", "wb") as f:
        f.write((tmp_path / "all.csv").read_bytes())
    first = make_splits(tmp_path / "all.csv.gz", tmp_path / "a", group_column="customer", folds=3)
    again = make_splits(tmp_path / "all.csv", tmp_path / "b", group_column="customer", folds=3)
    assert len(first.folds) == 3
    seen: set[str] = set()
    for fold, other in zip(first.folds, again.folds, strict=True):
        assert fold.test.read_text() == other.test.read_text()
        _, customers = _groups(fold.test)
        assert not customers & seen  # each customer is tested in one fold only
        seen |= customers
        assert not customers & _groups(fold.train)[1]


def test_a_group_column_the_file_lacks_is_refused(tmp_path) -> None:
    write_csv(tmp_path / "all.csv", generate(20, seed=1))
    with pytest.raises(InputError, match="no column 'movie' to group by"):
        make_splits(tmp_path / "all.csv", tmp_path / "a", group_column="movie")


def test_the_review_bench_measures_routing_shift_and_the_why_price(tmp_path) -> None:
    from textbatch.bench.review import review_table, run_review_bench

    write_csv(tmp_path / "claims.csv", generate(1200, seed=12))
    splits = make_splits(tmp_path / "claims.csv", tmp_path / "data", group_column="customer")
    config = write_config(tmp_path, architecture="nbsvm", ngram_buckets=1 << 16, n_classes=None)
    other = tmp_path / "other.csv"
    other.write_text(
        "label,text\n"
        + "".join(f"x,quantum orbit telescope galaxy nebula {i}\n" for i in range(300))
    )
    row = run_review_bench(
        splits, config, tmp_path / "out", group_column="customer", slips=0.2, shift_against=other
    )
    with open(splits.folds[0].test, encoding="utf-8", newline="") as f:
        assert row.rows == len(list(csv.DictReader(f)))
    assert 0.1 < row.slipped / row.rows < 0.3
    assert row.slips_caught > 0.8  # a confident model against a slipped category: disagrees
    assert row.review_share >= row.slipped / row.rows * row.slips_caught - 1e-9
    assert row.auto_accepted_accuracy > 0.9
    assert (row.shift_level, row.other_level) == ("low", "high")
    assert row.why_seconds > 0
    assert row.no_why_seconds > 0
    assert "holds" in review_table(row)


def test_a_bench_child_that_writes_much_to_stderr_neither_hangs_nor_hides_its_lines(
    capsys,
) -> None:
    """Its stderr went to a pipe read only after it ended: past 64 KB the child waited for ever.
    Its event lines show as they come; a failure is one line naming where its output is."""
    from textbatch.bench.run import BenchError, timed

    chatty = (
        "import json, sys; sys.stderr.write('warning ' * 100_000); "
        "print(json.dumps({'event': 'validation', 'job': 'train', 'epoch': 1, 'accuracy': 0.5}))"
    )
    seconds, rss = timed([sys.executable, "-c", chatty], "chatty")
    assert seconds < 60
    assert rss > 0
    assert "  chatty: epoch 1: validation accuracy 0.500" in capsys.readouterr().err
    failing = (
        "import sys; sys.stderr.write('Traceback ...\\nValueError: no such file\\n'); sys.exit(3)"
    )
    with pytest.raises(BenchError) as info:
        timed([sys.executable, "-c", failing], "broken")
    assert str(info.value).splitlines()[0] == "broken failed (exit 3): ValueError: no such file"
    assert "its whole output: " in info.value.hint


def test_a_learning_curve_trains_every_model_on_nested_samples_scored_on_one_test_set(
    tmp_path,
) -> None:
    """`textbatch bench --train-rows 60,all`: each config and the peer at each size, on the same
    held-out customers; a smaller sample lies inside the larger, every class in each."""
    import numpy as np

    from textbatch.bench.curve import nested_samples, parse_sizes

    assert parse_sizes("all,500,2000") == [500, 2000, None]
    with pytest.raises(InputError, match="'5k' is not a row count"):
        parse_sizes("500,5k")
    y = np.array([0] * 80 + [1] * 15 + [2] * 5)
    samples = nested_samples(y, [10, 50, None], seed=0)
    assert list(samples) == [10, 50, 100]
    assert [len(s) for s in samples.values()] == [10, 50, 100]  # as many rows as asked for
    assert set(samples[10]) <= set(samples[50]) <= set(samples[100])
    assert all(set(y[s]) == {0, 1, 2} for s in samples.values())

    write_csv(tmp_path / "claims.csv", generate(400, seed=12))
    config = write_config(tmp_path, architecture="nbsvm", ngram_buckets=1 << 16, n_classes=None)
    result = subprocess.run(
        [sys.executable, "-m", "textbatch.cli.main", "bench", "--input",
         str(tmp_path / "claims.csv"), "--group-column", "customer", "--config", str(config),
         "--train-rows", "60,all", "--test-rows", "50", "--workdir", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    saved = json.loads((tmp_path / "out" / "learning-curve.json").read_text())
    assert saved["test_rows"] == 50  # every model scored on the same 50 held-out rows
    with open(tmp_path / "out" / "test-50.csv", encoding="utf-8") as f:
        assert sum(1 for _ in csv.reader(f)) == 51
    points = {(p["name"], p["train_rows"]): p["accuracy"] for p in saved["points"]}
    sizes = sorted({n for _, n in points})
    assert sizes[0] == 60
    assert sizes[1] > 250  # every training row (400 less the held-out customers)
    assert set(points) == {(m, n) for m in ("config", "sklearn tfidf+logreg") for n in sizes}
    assert all(0.3 < a <= 1.0 for a in points.values())
    table = result.stdout.splitlines()
    assert table[-2].startswith("| config | ")
    assert table[-1].startswith("| sklearn tfidf+logreg | ")
    assert "  config 60 rows train: epoch 1: validation accuracy" in result.stderr


def test_the_knn_peers_take_the_knn_configs_k_on_their_own_features_or_on_sklearns(
    tmp_path,
) -> None:
    """--peer knn: scikit-learn's KNN on textbatch's features; --peer knn-tfidf: on
    scikit-learn's own TF-IDF, what a user would run instead (issue 26's honest knn peer)."""
    write_csv(tmp_path / "claims.csv", generate(300, seed=13))
    splits = make_splits(tmp_path / "claims.csv", tmp_path / "data", group_column="customer")
    config = write_config(
        tmp_path, architecture="knn", ngram_buckets=1 << 16, n_classes=None, n_neighbors=5
    )
    for peer, name in (("knn", "sklearn KNeighborsClassifier"),
                       ("knn-tfidf", "sklearn KNeighborsClassifier on its tfidf")):  # fmt: skip
        rows = run_bench(splits, [config], tmp_path / peer, group_column="customer", peer=peer)
        assert [r.name for r in rows] == ["config", name]
        assert rows[-1].accuracy > 0.5
    pipeline = pickle.loads((tmp_path / "knn-tfidf" / "model-peer-fold0.pkl").read_bytes())
    assert type(pipeline.steps[0][1]).__name__ == "TfidfVectorizer"
    assert pipeline.steps[-1][1].n_neighbors == 5
