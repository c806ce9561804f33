"""How far review routing, the why column and the shift warning can be trusted, measured the
way they are used: a model trained on some groups (movies, threads, customers) classifies a
file of other groups whose `submitted` column is the true label, except in a `slips` share of
rows (chosen at random, seeded) where it is another label, as a submitter's slip.

Reported, never asserted: the share of rows sent to review, the share of the slipped rows the
review file holds, the accuracy of the auto-accepted rows (against the true labels) and of
the confident predictions (the precision the thresholds were validated at, on new groups),
the file's shift level, and, with `--shift-against FILE`, the level of another data set's
texts under the same model. The why column's price: the whole predict job on the speed file
with it and without it (`--no-why`), in the same run.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from textbatch.bench.run import TEXTBATCH, Splits, labelled, read_labelled_csv, speed_file, timed
from textbatch.errors import InputError
from textbatch.io import csv_table
from textbatch.io.csv_table import TEXT_COLUMNS

SHIFT_ROWS = 5000  # rows of the --shift-against file that are classified


@dataclass(frozen=True)
class ReviewRow:
    name: str
    rows: int
    slipped: int
    review_share: float  # rows in the review file / all rows
    slips_caught: float  # slipped rows in the review file / slipped rows
    auto_accepted_accuracy: float  # against the true labels
    confident_precision: float  # the predictions at or above their threshold, true labels
    target_precision: float
    validated_precision: float | None  # on the training run's validation rows
    shift_level: str
    shift_signals: dict[str, float | None]
    other_level: str | None  # --shift-against
    other_signals: dict[str, float | None] | None
    why_seconds: float  # the whole predict job on the speed file, with the why column
    no_why_seconds: float  # and without it
    speed_rows: int


def with_slips(test: Path, target: Path, slips: float, seed: int) -> tuple[list[str], list[bool]]:
    """The test file with a `submitted` column; each row's true label and whether it slipped."""
    header, records, label_at, labels = labelled(test)
    rng = random.Random(seed)
    truth, slipped = [], []
    with open(target, "w", encoding="utf-8", newline="") as f:
        writer = csv_table.writer(f)
        # the true label is left out: the model must not read it
        writer.writerow([h for i, h in enumerate(header) if i != label_at] + ["submitted"])
        for r in records:
            label = r[label_at]
            slip = rng.random() < slips
            submitted = rng.choice([x for x in labels if x != label]) if slip else label
            writer.writerow([v for i, v in enumerate(r) if i != label_at] + [submitted])
            truth.append(label)
            slipped.append(slip)
    return truth, slipped


def other_texts(path: Path, target: Path, rows: int = SHIFT_ROWS) -> Path:
    """The first `rows` rows of another data set, its texts only."""
    header, records = read_labelled_csv(path)
    at = next((header.index(c) for c in TEXT_COLUMNS if c in header), None)
    if at is None:
        raise InputError(f"{path} has no text column")
    with open(target, "w", encoding="utf-8", newline="") as f:
        writer = csv_table.writer(f)
        writer.writerow(["text"])
        writer.writerows([r[at]] for r in records[:rows])
    return target


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def run_review_bench(
    splits: Splits,
    config: Path,
    workdir: Path,
    *,
    group_column: str | None,
    slips: float = 0.1,
    seed: int = 0,
    shift_against: Path | None = None,
) -> ReviewRow:
    workdir.mkdir(parents=True, exist_ok=True)
    fold = splits.folds[0]
    model = workdir / f"model-{config.stem}"
    grouped = ["--group-column", group_column] if group_column else []
    timed([*TEXTBATCH, "train", "--config", str(config), "--input", str(fold.train),
           "-o", str(model), *grouped, "--promote", "always"])  # fmt: skip
    submitted = workdir / "submitted.csv"
    truth, slipped = with_slips(fold.test, submitted, slips, seed)
    out = workdir / "out"

    def predict(source: Path, target: Path, *extra: str) -> float:
        seconds, _ = timed([*TEXTBATCH, "predict", "--model", str(model), "--input",
                            str(source), "--output", str(target), *extra])  # fmt: skip
        return seconds

    predict(submitted, out, "--compare-column", "submitted")
    stem = submitted.stem
    output = _read(out / f"{stem}_output.csv")
    review_rows = {int(r["row"]) for r in _read(out / f"{stem}_review.csv")}
    summary = json.loads((out / f"{stem}_output.json").read_text())
    accepted = [i for i, r in enumerate(output) if r["review"] == "no"]
    confident = [
        i
        for i, r in enumerate(output)
        if r["prediction"] and r["review_reason"] != "low_confidence"
    ]
    n_slipped = sum(slipped)
    other_level = other_signals = None
    if shift_against is not None:
        texts = other_texts(shift_against, workdir / "other.csv")
        predict(texts, workdir / "other-out")
        other = json.loads((workdir / "other-out" / "other_output.json").read_text())["shift"]
        other_level, other_signals = other["level"], other["signals"]
    speed, speed_rows = speed_file(fold.test, workdir / "speed.csv")
    with_why = predict(speed, workdir / "speed-why")
    without = predict(speed, workdir / "speed-plain", "--no-why")
    row = ReviewRow(
        name=config.stem,
        rows=len(output),
        slipped=n_slipped,
        review_share=round(len(review_rows) / len(output), 4),
        slips_caught=round(
            sum(1 for i, s in enumerate(slipped) if s and i + 1 in review_rows) / max(1, n_slipped),
            4,
        ),
        auto_accepted_accuracy=round(
            sum(output[i]["prediction"] == truth[i] for i in accepted) / max(1, len(accepted)), 4
        ),
        confident_precision=round(
            sum(output[i]["prediction"] == truth[i] for i in confident) / max(1, len(confident)),
            4,
        ),
        target_precision=summary["review"]["target_precision"],
        validated_precision=summary["review"]["validated_precision"],
        shift_level=summary["shift"]["level"],
        shift_signals=summary["shift"]["signals"],
        other_level=other_level,
        other_signals=other_signals,
        why_seconds=round(with_why, 2),
        no_why_seconds=round(without, 2),
        speed_rows=speed_rows,
    )
    (workdir / "review.json").write_text(json.dumps(asdict(row), indent=2))
    return row


def review_table(row: ReviewRow, *, title: str = "") -> str:
    lines = [title] if title else []
    lines += [
        f"{row.name}: {row.rows:,} held-out rows, {row.slipped:,} with a slipped `submitted`",
        f"  review file: {row.review_share:.1%} of rows; holds {row.slips_caught:.1%} of the "
        "slipped rows",
        f"  auto-accepted rows' accuracy {row.auto_accepted_accuracy:.4f}; confident predictions' "
        f"precision {row.confident_precision:.4f} (target {row.target_precision}, validated "
        f"{row.validated_precision})",
        f"  shift: {row.shift_level} {json.dumps(row.shift_signals)}",
    ]
    if row.other_level is not None:
        lines.append(f"  shift of the other set: {row.other_level} {json.dumps(row.other_signals)}")
    ratio = row.why_seconds / max(row.no_why_seconds, 1e-9)
    lines.append(
        f"  why column: {row.why_seconds:.2f} s vs {row.no_why_seconds:.2f} s without "
        f"({ratio:.2f}x) for {row.speed_rows:,} rows, whole predict job"
    )
    return "\n".join(lines)
