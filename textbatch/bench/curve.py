"""A learning curve: each configuration and the peer trained on more and more of the same
training rows (a seeded sample of each size, stratified by label, the smaller inside the
larger), always scored on the same held-out groups. Where labels are few (a new category with a
few hundred labelled rows) the ranking of models can differ from the one on every row.
Accuracy only: the speed of a model does not depend on how many rows trained it."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from textbatch.bench.run import PEERS, Splits, _commands, labelled, score, timed
from textbatch.errors import InputError
from textbatch.io import csv_table

ALL = "all"


def parse_sizes(text: str) -> list[int | None]:
    """`500,2000,all` as [500, 2000, None] (None: every training row), ascending."""
    sizes: list[int | None] = []
    for part in (p.strip() for p in text.split(",")):
        if part == ALL:
            sizes.append(None)
        elif re.fullmatch(r"[1-9]\d*", part):
            sizes.append(int(part))
        else:
            raise InputError(
                f"--train-rows {text!r}: {part!r} is not a row count",
                hint="write counts and `all` separated by commas, e.g. 500,2000,5000,all",
            )
    if not sizes:
        raise InputError("--train-rows is empty", hint="e.g. --train-rows 500,2000,all")
    return sorted(set(sizes), key=lambda n: float("inf") if n is None else n)


@dataclass(frozen=True)
class CurvePoint:
    name: str
    train_rows: int
    accuracy: float


def nested_samples(y: np.ndarray, sizes: list[int | None], seed: int) -> dict[int, np.ndarray]:
    """For each size (ascending), row indices: one seeded order per class, and each size takes
    the first rows of every class in proportion, rounded to add up to the size (so a smaller
    sample is inside a larger one, and every class is in every sample; a row more than asked
    for only where rounding would otherwise drop a row an earlier sample had)."""
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)]
    counts = np.array([len(order) for order in orders])
    samples = {}
    before = np.zeros(len(counts), dtype=int)
    for size in sizes:  # ascending
        n = len(y) if size is None else min(size, len(y))
        # each class's share of n, rounded so that the shares add up to n (largest remainders),
        # at least one row of each class
        quota = n * counts / len(y)
        take = np.floor(quota).astype(int)
        for c in np.argsort(take - quota)[: n - int(take.sum())]:
            take[c] += 1
        take = np.clip(take, 1, counts)
        while take.sum() > max(
            n, len(counts)
        ):  # the ones added for small classes: from the largest
            take[take.argmax()] -= 1
        take = before = np.maximum(take, before)  # rounding never takes a row out again
        samples[n] = np.sort(np.concatenate([o[:k] for o, k in zip(orders, take, strict=True)]))
    return samples


def run_curve(
    splits: Splits,
    configs: list[Path],
    workdir: Path,
    sizes: list[int | None],
    *,
    group_column: str | None = None,
    seed: int = 0,
    test_rows: int | None = None,
) -> list[CurvePoint]:
    """Every config and the peer at every size, on fold 0's training rows and test rows (or a
    seeded sample of `test_rows` of them, the same for every model)."""
    fold = splits.folds[0]
    test = fold.test
    if test_rows is not None:
        test_header, test_records, _, _ = labelled(fold.test)
        if test_rows < len(test_records):
            keep = np.sort(np.random.default_rng(seed).permutation(len(test_records))[:test_rows])
            test = _write(workdir / f"test-{test_rows}.csv", test_header, test_records, keep)
    header, records, label_at, labels = labelled(fold.train)
    y = np.array([labels.index(r[label_at]) for r in records])
    points = []
    models: list[tuple[str, Path | None]] = [(c.stem, c) for c in configs]
    models.append((PEERS["lr"], None))
    for n, rows in nested_samples(y, sizes, seed).items():
        sample = _write(workdir / f"train-{n}.csv", header, records, rows)
        for name, config in models:
            train, predict = _commands(config, group_column)
            slug = "peer" if config is None else name
            model = workdir / f"model-{slug}-{n}"
            if config is None:
                model = model.with_suffix(".pkl")
            output = workdir / f"{slug}-{n}_output.csv"
            timed(train(sample, model), f"{slug} {n} rows train")
            timed(predict(model, test, output), f"{slug} {n} rows predict")
            true, predicted, _ = score(output)
            points.append(CurvePoint(name, len(rows), round(float((true == predicted).mean()), 4)))
    (workdir / "learning-curve.json").write_text(
        json.dumps(
            {
                "split": splits.description,
                "test_rows": test_rows,
                "points": [asdict(p) for p in points],
            },
            indent=2,
        )
    )
    return points


def _write(path: Path, header: list[str], records: list[list[str]], rows: np.ndarray) -> Path:
    """A CSV of the header and the records at `rows`, in their order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv_table.writer(f)
        writer.writerow(header)
        writer.writerows(records[i] for i in rows)
    return path


def curve_table(points: list[CurvePoint], *, title: str = "") -> str:
    """Accuracy per model (rows) and training size (columns), each with its difference to the
    peer at that size in points; the peer last."""
    sizes = sorted({p.train_rows for p in points})
    names = list(dict.fromkeys(p.name for p in points))
    at = {(p.name, p.train_rows): p.accuracy for p in points}
    peer = names[-1]
    lines = [title, ""] if title else []
    lines.append("| run | " + " | ".join(f"{n:,} rows" for n in sizes) + " |")
    lines.append("| --- |" + " --- |" * len(sizes))
    for name in names:
        cells = []
        for n in sizes:
            accuracy = at[(name, n)]
            versus = "" if name == peer else f" ({100 * (accuracy - at[(peer, n)]):+.2f})"
            cells.append(f"{accuracy:.4f}{versus}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
