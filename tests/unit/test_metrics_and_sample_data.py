from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from textbatch.model.metrics import classification_report
from textbatch.sample_data import BUNDLED, BUNDLED_DIR, generate, write_bundled


def test_classification_report_from_a_known_confusion() -> None:
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 1, 0])
    report = classification_report(y_true, y_pred, ["a", "b", "c"])
    assert report["accuracy"] == round(4 / 6, 4)
    assert report["confusion_matrix"]["rows_true_columns_predicted"] == [
        [2, 1, 0],
        [0, 2, 0],
        [1, 0, 0],
    ]
    assert report["per_class"]["a"] == {
        "precision": 0.6667,
        "recall": 0.6667,
        "f1": 0.6667,
        "support": 3,
    }
    assert report["per_class"]["c"]["f1"] == 0.0


def test_generation_is_deterministic_and_seed_dependent() -> None:
    assert generate(50, seed=7) == generate(50, seed=7)
    assert generate(50, seed=7) != generate(50, seed=8)


def test_bundled_files_are_exactly_what_the_generator_writes(tmp_path: Path) -> None:
    write_bundled(tmp_path)
    for name in BUNDLED:
        assert (tmp_path / name).read_bytes() == (BUNDLED_DIR / name).read_bytes(), name


def test_bundled_training_data_is_multiclass_and_quoting_hostile() -> None:
    with open(BUNDLED_DIR / "warranty_train.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == BUNDLED["warranty_train.csv"][0]
    assert len({r["category"] for r in rows}) >= 5
    texts = [r["text"] for r in rows]
    assert any('"' in t for t in texts)
    assert any("\n" in t for t in texts)
    assert any("," in t for t in texts)
    assert any(not t.isascii() for t in texts)
