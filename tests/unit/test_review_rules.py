"""The review thresholds chosen at train time, a row's routing, and the shift warning's rules."""

from __future__ import annotations

import numpy as np
import pytest

from textbatch.model import shift
from textbatch.model.review import MIN_CLASS_ROWS, Thresholds, choose_thresholds, route, sort_key

LABELS = ["a", "b"]


def calibrated(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predictions whose confidence is their chance of being right."""
    rng = np.random.default_rng(seed)
    confidence = rng.uniform(0.5, 1.0, n)
    y = rng.integers(0, 2, n)
    right = rng.uniform(size=n) < confidence
    predicted = np.where(right, y, 1 - y)
    return predicted, confidence, y


def test_each_class_threshold_reaches_the_target_on_its_rows_with_the_most_rows() -> None:
    predicted, confidence, y = calibrated(4000)
    confidence = np.round(confidence, 6)  # as the predict job writes and compares them
    found = choose_thresholds(predicted, confidence, y, LABELS, 0.95)
    for c, label in enumerate(LABELS):
        t = found["per_class"][label]
        assert t["own"]
        mine = predicted == c
        above = mine & (confidence >= t["threshold"])
        assert (predicted[above] == y[above]).mean() >= 0.95
        # one step lower (the next confidence below) misses the target: the most rows
        below = confidence[mine & (confidence < t["threshold"])].max()
        wider = mine & (confidence >= below)
        assert (predicted[wider] == y[wider]).mean() < 0.95
    accepted = Thresholds.from_document(found, LABELS).accepts(predicted, confidence)
    assert found["coverage"] == pytest.approx(accepted.mean(), abs=1e-4)
    assert found["precision"] >= 0.95
    assert 0.05 < found["coverage"] < 0.5  # calibrated from 0.5 to 1: only the top reaches it


def test_a_class_with_few_rows_takes_the_overall_threshold_and_a_target_never_met_reviews_all():
    predicted, confidence, y = calibrated(2000)
    predicted[: MIN_CLASS_ROWS - 1] = 2  # a third class, predicted too rarely for its own
    found = choose_thresholds(predicted, confidence, y, ["a", "b", "c"], 0.9)
    assert found["per_class"]["c"] == {"threshold": found["overall"]["threshold"], "own": False}
    assert found["per_class"]["a"]["own"]
    wrong = choose_thresholds(np.zeros(100, int), np.full(100, 0.9), np.ones(100, int), LABELS, 0.5)
    assert wrong["per_class"]["a"]["threshold"] is None
    assert not Thresholds.from_document(wrong, LABELS).accepts(np.zeros(3, int), np.ones(3)).any()


def test_a_version_without_thresholds_accepts_every_prediction() -> None:
    none = Thresholds.from_document(None, LABELS)
    assert none.accepts(np.array([0, 1]), np.array([0.51, 0.5])).all()
    assert none.target is None


def test_routing_and_the_review_order() -> None:
    assert route(False, "a", "b") == "low_confidence"
    assert route(True, "a", " b ") == "disagrees"
    assert route(True, "a", " a ") == ""
    assert route(True, "a", None) == ""
    keys = sorted(
        [
            sort_key("low_confidence", "0.700000", 3),
            sort_key("disagrees", "0.950000", 9),
            sort_key("low_confidence", "0.510000", 8),
            sort_key("disagrees", "0.990000", 12),
            sort_key("low_confidence", "0.510000", 2),
        ]
    )
    assert [k[2] for k in keys] == [12, 9, 2, 8, 3]


def counts(rows: int, confidence: float, unseen: int, ngrams: int) -> dict[str, int]:
    made = shift.new_counts()
    shift.add(made, np.full(rows, confidence), (unseen, ngrams))
    return made


BASELINE = {"label_mix": {"a": 0.5, "b": 0.5}, "mean_confidence": 0.9, "unseen_ngrams": 0.1}


def test_the_shift_level_is_the_highest_any_counted_signal_reaches() -> None:
    low = shift.assess(counts(500, 0.9, 1000, 10_000), {"a": 250, "b": 250}, BASELINE)
    assert low["level"] == "low"
    assert low["signals"] == {"unseen_ngrams": 0.0, "confidence_drop": 0.0, "label_psi": 0.0}
    medium = shift.assess(counts(500, 0.85, 1000, 10_000), {"a": 250, "b": 250}, BASELINE)
    assert (medium["level"], medium["over_threshold"]) == ("medium", ["confidence_drop"])
    high = shift.assess(counts(500, 0.9, 3000, 10_000), {"a": 250, "b": 250}, BASELINE)
    assert (high["level"], high["over_threshold"]) == ("high", ["unseen_ngrams"])
    skewed = shift.assess(counts(500, 0.9, 1000, 10_000), {"a": 480, "b": 20}, BASELINE)
    assert skewed["level"] == "high"
    assert skewed["signals"]["label_psi"] > 0.25
    # a small file's mix and confidence say little: they do not count
    small = shift.assess(counts(20, 0.5, 10, 100), {"a": 20}, BASELINE)
    assert small["level"] == "low"
    assert small["counted"] == []
    assert small["signals"]["label_psi"] > 1


def test_parts_counts_add_up_to_the_whole_files() -> None:
    parts = [counts(300, 0.8, 100, 3000), counts(200, 0.95, 50, 2000)]
    whole = shift.merge_counts([{"counts": c} for c in parts])
    assert whole == {
        "rows": 500,
        "confidence_sum": 430_000_000,
        "ngrams": 5000,
        "unseen_ngrams": 150,
    }


def test_the_unknown_categories_listed_are_the_same_for_one_job_and_its_parts() -> None:
    from textbatch.jobs.routing import MAX_UNKNOWN_LISTED, Compare, merged_block, review_block

    # more unknown values than any cap, the smallest last: the list must not depend on order
    values = [f"new-{i:03d}" for i in range(300, 10, -1)] + ["a", "b", ""]
    rows = [[v, "text"] for v in values]

    def block(part: list[list[str]]) -> dict:
        compare = Compare.find(
            ["submitted", "text"], "submitted", required=True, text_at=1, source="f.csv",
            labels=LABELS, where="--compare-column",
        )  # fmt: skip
        for fields in part:
            compare.value(fields)
        return review_block(accepted=0, by_reason={}, compare=compare.describe(), file="")

    whole = block(rows)
    assert whole["compare_unknown_labels"] == [
        f"new-{i:03d}" for i in range(11, 11 + MAX_UNKNOWN_LISTED)
    ]
    assert whole["rows_compared"] == len(values) - 1  # the empty value compares nothing
    parts = merged_block([block(rows[:70]), block(rows[70:230]), block(rows[230:])], file="")
    assert parts == whole


@pytest.mark.parametrize("big_row_chars", [1_000_000, 0], ids=["whole-row", "field-at-a-time"])
def test_the_review_file_holds_each_review_row_whole_in_review_order(
    tmp_path, monkeypatch, big_row_chars: int
) -> None:
    import csv

    from textbatch.io.csv_table import RowWriter
    from textbatch.jobs.routing import ReviewRows, review_header

    monkeypatch.setattr(RowWriter, "BIG_ROW_CHARS", big_row_chars)
    monkeypatch.setattr(ReviewRows, "COPY_BYTES", 3)  # rows copied in many blocks
    rows = ReviewRows(tmp_path / "scratch.csv", neutralise_formulas=True, row_offset=10)
    given = [  # row, reason, prediction, confidence, why, fields
        (1, "low_confidence", "a", "0.600000", ["leak"], ["1", 'the boiler, "it" leaked']),
        (2, "", "b", "0.990000", ["fire"], ["2", "accepted: not in the file"]),
        (3, "disagrees", "b", "0.900000", ["oven"], ["3", "=SUM(A1) a formula\r\nand a line"]),
        (4, "low_confidence", "a", "0.550000", ["é"], ["4", "naïve € 😀 text"]),
    ]
    for row, reason, prediction, confidence, why, fields in given:
        rows.add(row, reason, prediction, confidence, why, fields)
    target = tmp_path / "review.csv"
    rows.write_sorted(target, review_header(["id", "text"], why=True))
    with open(target, newline="", encoding="utf-8") as f:
        read = list(csv.reader(f))
    assert read[0] == ["row", "review_reason", "prediction", "confidence", "why", "id", "text"]
    assert read[1:] == [
        ["13", "disagrees", "b", "0.900000", "oven", "3", "'=SUM(A1) a formula\r\nand a line"],
        ["14", "low_confidence", "a", "0.550000", "é", "4", "naïve € 😀 text"],
        ["11", "low_confidence", "a", "0.600000", "leak", "1", 'the boiler, "it" leaked'],
    ]
    assert rows.accepted == 1
