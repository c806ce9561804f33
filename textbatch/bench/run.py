"""Train and evaluate each configuration and the peer on the same splits, in one run.

Splits hold out whole groups when a group column is named (the way a model meets new data:
new movies, new threads, new customers), by row otherwise; one held-out share, or k folds.
Every job runs in its own process, as on Batch: whole-job figures include process start, CSV
in and CSV out, measured on one file of at least SPEED_ROWS rows (the held-out rows repeated)
for every model alike. Figures are reported, never asserted: this machine is noisy, so compare
rows of one table, not tables of different runs.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from textbatch_contract import events

from textbatch.errors import InputError, TextbatchError
from textbatch.io import csv_table
from textbatch.io.csv_table import LABEL_COLUMNS
from textbatch.model.metrics import classification_report
from textbatch.model.splits import group_ids, grouped_folds, grouped_split, stratified_split

TEXTBATCH = (sys.executable, "-m", "textbatch.cli.main")
PEER = (sys.executable, "-m", "textbatch.bench.peer")
# name -> the peer's display name; `knn` needs the knn config whose features and k it takes
PEERS = {
    "lr": "sklearn tfidf+logreg",
    "knn": "sklearn KNeighborsClassifier",
    "knn-tfidf": "sklearn KNeighborsClassifier on its tfidf",
}
# the peer's train step (textbatch.bench.peer); a knn peer takes the knn config's k (and for
# `knn`, its features)
PEER_TRAIN = {"lr": "train", "knn": "knn-train", "knn-tfidf": "knn-tfidf-train"}
SPEED_ROWS = 25_000


@dataclass(frozen=True)
class Fold:
    train: Path
    test: Path


@dataclass(frozen=True)
class Splits:
    folds: list[Fold]
    description: str  # how the rows were split, for the table's title


@dataclass(frozen=True)
class BenchRow:
    name: str
    accuracy: float  # mean over folds
    accuracy_std: float  # over folds (0 for one held-out share)
    macro_f1: float
    train_seconds: float  # mean over folds
    predict_rows_per_s: float  # whole job on the speed file: process start, CSV in, CSV out
    predict_peak_rss_mib: float
    test_rows: int  # held-out rows scored, all folds together
    folds: int


def timed(command: list[str], label: str | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a child process. Its JSON event lines (stdout: not
    a terminal) are drawn on stderr as they come, `label: epoch 3: validation accuracy ...`;
    its stderr goes to a file, never to a pipe left unread (a child that writes more than a
    pipe holds would wait for ever). A failure is one BenchError: the child's last line and
    where the rest is."""
    from textbatch.jobs.render import job_line

    label = label or " ".join(Path(c).name for c in command[2:4])
    logs = Path(tempfile.gettempdir()) / "textbatch-bench"
    logs.mkdir(exist_ok=True)
    log = logs / f"{re.sub(r'[^A-Za-z0-9._-]+', '-', label)}.log"
    started = time.perf_counter()
    with open(log, "w") as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        assert process.stdout is not None
        for line in process.stdout:
            event = events.parse(line)
            if event is not None and event.get(events.EVENT) == events.PROGRESS:
                continue  # a bench's children are short: their rows and speed are in the table
            shown = line.rstrip() if event is None else job_line(event)
            if shown:
                print(f"  {label}: {shown}", file=sys.stderr, flush=True)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        lines = [x for x in log.read_text(errors="replace").splitlines() if x.strip()]
        raise BenchError(
            f"{label} failed (exit {code}): {lines[-1] if lines else 'no output'}",
            hint=f"its whole output: {log}; the command: {' '.join(command)}",
        )
    log.unlink()
    return seconds, usage.ru_maxrss / 1024


class BenchError(TextbatchError):
    """A benchmark's child process failed: one line, and where its output is."""


def score(output: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """True and predicted label ids of a scored output CSV, and the labels."""
    header, records = read_labelled_csv(output)
    rows = [dict(zip(header, r, strict=False)) for r in records]
    label = next(k for k in LABEL_COLUMNS if k in rows[0])
    labels = sorted({r[label] for r in rows} | {r["prediction"] for r in rows})
    index = {x: i for i, x in enumerate(labels)}
    return (
        np.array([index[r[label]] for r in rows]),
        np.array([index[r["prediction"]] for r in rows]),
        labels,
    )


def read_labelled_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and records of a labelled CSV or .csv.gz, read whole (benchmark files)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        header, *records = [r for r in csv_table.reader(f) if r]
    return header, records


def labelled(path: Path) -> tuple[list[str], list[list[str]], int, list[str]]:
    """A labelled CSV's header, records, label column and sorted labels."""
    header, records = read_labelled_csv(path)
    lowered = [h.strip().lower() for h in header]
    label_at = next((lowered.index(c) for c in LABEL_COLUMNS if c in lowered), None)
    if label_at is None:
        raise InputError(f"{path} has no label column ({', '.join(LABEL_COLUMNS)})")
    return header, records, label_at, sorted({r[label_at] for r in records})


def make_splits(
    path: Path,
    workdir: Path,
    *,
    group_column: str | None = None,
    folds: int = 1,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Splits:
    """Seeded train/test CSVs: one held-out share (folds=1) or k folds, holding out whole
    groups of `group_column` when given, stratified by label as far as the groups allow."""
    header, records, label_at, labels = labelled(path)
    y = np.array([labels.index(r[label_at]) for r in records])
    if group_column is not None:
        if group_column not in header:
            raise InputError(
                f"{path} has no column {group_column!r} to group by; its columns are {header}",
                hint="pass --group-column with one of those names, or leave it out",
            )
        at = header.index(group_column)
        groups = group_ids([r[at] for r in records])
        by = f"whole groups of `{group_column}` ({int(groups.max()) + 1} groups)"
    else:
        groups = np.arange(len(records))
        by = "row (stratified)"
    if folds > 1:
        fold_of = grouped_folds(y, groups, folds, seed)
        tests = [np.flatnonzero(fold_of == k) for k in range(folds)]
        description = f"{folds}-fold by {by}, seed {seed}"
    else:
        if group_column is not None:
            split = grouped_split(y, groups, test_fraction, seed, column=group_column)
        else:
            split = stratified_split(y, test_fraction, seed)
        tests = [split.validation]
        description = f"{test_fraction:.0%} held out by {by}, seed {seed}"
    made = []
    for k, test in enumerate(tests):
        is_test = np.zeros(len(records), dtype=bool)
        is_test[test] = True
        fold = Fold(workdir / f"fold{k}" / "train.csv", workdir / f"fold{k}" / "test.csv")
        fold.train.parent.mkdir(parents=True, exist_ok=True)
        for target, keep in ((fold.train, ~is_test), (fold.test, is_test)):
            with open(target, "w", encoding="utf-8", newline="") as f:
                writer = csv_table.writer(f)
                writer.writerow(header)
                writer.writerows(r for r, kept in zip(records, keep, strict=True) if kept)
        made.append(fold)
    sizes = f"{len(records) - len(tests[0]):,} train / {len(tests[0]):,} test rows"
    return Splits(made, f"{description}; {sizes}" + (" in fold 0" if folds > 1 else ""))


def speed_file(test: Path, target: Path, rows: int = SPEED_ROWS) -> tuple[Path, int]:
    """The held-out rows repeated until the file has at least `rows` rows; its path and rows."""
    header, records = read_labelled_csv(test)
    with open(target, "w", encoding="utf-8", newline="") as f:
        writer = csv_table.writer(f)
        writer.writerow(header)
        total = max(rows, len(records))
        for i in range(total):
            writer.writerow(records[i % len(records)])
    return target, total


def _commands(
    config: Path | None,
    group_column: str | None,
    peer_config: Path | None = None,
    peer: str = "lr",
):
    """How to train and predict one model: (train(train_csv, model), predict(model, in, out)).
    config None: the peer (`peer`: a PEERS key; a knn peer with peer_config, the knn config)."""
    if config is None:
        step = PEER_TRAIN[peer]
        takes = [] if peer_config is None else [str(peer_config)]
        return (
            lambda data, model: [*PEER, step, *takes, str(data), str(model)],
            lambda model, data, out: [*PEER, "predict", str(model), str(data), str(out)],
        )
    grouped = ["--group-column", group_column] if group_column else []

    def train(data: Path, model: Path) -> list[str]:
        # the version just trained is the one measured, whatever a run before left there
        args = ["--config", str(config), "--input", str(data), "-o", str(model), *grouped,
                "--promote", "always"]  # fmt: skip
        return [*TEXTBATCH, "train", *args]

    def predict(model: Path, data: Path, out: Path) -> list[str]:
        return [
            *TEXTBATCH,
            "predict",
            "--model",
            str(model),
            "--input",
            str(data),
            "--output",
            str(out),
        ]

    return train, predict


def run_bench(
    splits: Splits,
    configs: list[Path],
    workdir: Path,
    *,
    group_column: str | None = None,
    peer: str = "lr",
) -> list[BenchRow]:
    """Each config, then the peer: trained and scored on every fold, timed on one speed file.
    A textbatch train job validates by the same group column (for best-epoch selection). The
    knn peer takes the first knn config's features and k."""
    workdir.mkdir(parents=True, exist_ok=True)
    speed, speed_rows = speed_file(splits.folds[0].test, workdir / "speed.csv")
    rows = []
    peer_config = None
    if peer in ("knn", "knn-tfidf"):
        from textbatch.families import parse_config

        knn_configs = [
            c for c in configs if parse_config(c.read_text(), source=str(c)).network == "knn"
        ]
        if not knn_configs:
            raise InputError("--peer knn compares a knn config: give one with --config")
        peer_config = knn_configs[0]
    models: list[tuple[str, Path | None]] = [(c.stem, c) for c in configs]
    models.append((PEERS[peer], None))
    for name, config in models:
        train, predict = _commands(config, group_column, peer_config, peer)
        slug = "peer" if config is None else name
        accuracies, trues, predictions, train_times = [], [], [], []
        labels: list[str] = []
        for k, fold in enumerate(splits.folds):
            model = workdir / f"model-{slug}-fold{k}"
            if config is None:
                model = model.with_suffix(".pkl")
            output = workdir / f"{slug}-fold{k}_output.csv"
            train_s, _ = timed(train(fold.train, model), f"{slug} fold {k} train")
            timed(predict(model, fold.test, output), f"{slug} fold {k} predict")
            true, predicted, labels = score(output)
            accuracies.append(float((true == predicted).mean()))
            trues.append(true)
            predictions.append(predicted)
            train_times.append(train_s)
            if k == 0:
                speed_s, rss = timed(
                    predict(model, speed, workdir / f"{slug}-speed_output.csv"), f"{slug} speed"
                )
        report = classification_report(np.concatenate(trues), np.concatenate(predictions), labels)
        rows.append(
            BenchRow(
                name=name,
                accuracy=round(statistics.fmean(accuracies), 4),
                accuracy_std=round(statistics.pstdev(accuracies), 4),
                macro_f1=report["macro_f1"],
                train_seconds=round(statistics.fmean(train_times), 1),
                predict_rows_per_s=round(speed_rows / speed_s, 1),
                predict_peak_rss_mib=round(rss, 1),
                test_rows=sum(len(t) for t in trues),
                folds=len(splits.folds),
            )
        )
        print(f"  {name}: done", file=sys.stderr, flush=True)
    (workdir / "bench.json").write_text(
        json.dumps({"split": splits.description, "rows": [asdict(r) for r in rows]}, indent=2)
    )
    return rows


def table(rows: list[BenchRow], *, title: str = "") -> str:
    """A markdown table, the peer (the last row) as the reference of every ratio."""
    peer = rows[-1]
    lines = [title, ""] if title else []
    lines += [
        "| run | accuracy | vs peer | macro-F1 | train s | predict rows/s (whole job) "
        "| vs peer | peak RSS MiB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        spread = f" ± {r.accuracy_std:.4f}" if r.folds > 1 else ""
        lines.append(
            f"| {r.name} | {r.accuracy:.4f}{spread} | {100 * (r.accuracy - peer.accuracy):+.2f} "
            f"| {r.macro_f1:.4f} | {r.train_seconds:.1f} | {r.predict_rows_per_s:,.0f} | "
            f"{r.predict_rows_per_s / peer.predict_rows_per_s:.2f}x | "
            f"{r.predict_peak_rss_mib:,.0f} |"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class ClusterRow:
    name: str
    nmi: float  # normalised mutual information of the clusters with the labels, mean over folds
    rows_per_s: float  # whole job on the speed file
    peak_rss_mib: float
    rows: int  # held-out rows clustered, all folds together


CLUSTER_PEER_NAME = "sklearn MiniBatchKMeans (tfidf)"


def run_cluster_bench(splits: Splits, workdir: Path) -> list[ClusterRow]:
    """`textbatch cluster` and the peer on each fold's held-out rows, as many clusters as the
    rows have labels; NMI with the labels (the labels are never shown to either)."""
    from sklearn.metrics import normalized_mutual_info_score

    workdir.mkdir(parents=True, exist_ok=True)
    speed, speed_rows = speed_file(splits.folds[0].test, workdir / "cluster-speed.csv")
    header, records = read_labelled_csv(splits.folds[0].test)
    label_at = next(i for i, h in enumerate(header) if h.lower() in LABEL_COLUMNS)
    k = len({r[label_at] for r in records})

    def command(name: str, data: Path, out: Path) -> list[str]:
        if name == "textbatch":
            return [*TEXTBATCH, "cluster", "--input", str(data), "--output", str(out),
                    "--clusters", str(k)]  # fmt: skip
        return [*PEER, "cluster", str(k), str(data), str(out)]

    rows = []
    for name in ("textbatch", CLUSTER_PEER_NAME):
        slug = "textbatch" if name == "textbatch" else "peer"
        scores, total = [], 0
        for i, fold in enumerate(splits.folds):
            out = workdir / f"cluster-{slug}-fold{i}_output.csv"
            timed(command(name, fold.test, out))
            out_header, table = read_labelled_csv(out)
            at, cluster_at = out_header.index(header[label_at]), out_header.index("cluster")
            scored = [r for r in table if r[cluster_at] != ""]
            scores.append(
                normalized_mutual_info_score(
                    [r[at] for r in scored], [r[cluster_at] for r in scored]
                )
            )
            total += len(scored)
        seconds, rss = timed(command(name, speed, workdir / f"cluster-{slug}-speed_output.csv"))
        rows.append(ClusterRow(name, round(statistics.fmean(scores), 4),
                               round(speed_rows / seconds, 1), round(rss, 1), total))  # fmt: skip
        print(f"  cluster {name}: done", file=sys.stderr, flush=True)
    (workdir / "cluster-bench.json").write_text(
        json.dumps(
            {"split": splits.description, "k": k, "rows": [asdict(r) for r in rows]}, indent=2
        )
    )
    return rows


def cluster_table(rows: list[ClusterRow], *, title: str = "") -> str:
    peer = rows[-1]
    lines = [title, ""] if title else []
    lines += [
        "| run | NMI with the labels | vs peer | rows/s (whole job) | vs peer | peak RSS MiB |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.nmi:.4f} | {r.nmi - peer.nmi:+.4f} | {r.rows_per_s:,.0f} | "
            f"{r.rows_per_s / peer.rows_per_s:.2f}x | {r.peak_rss_mib:,.0f} |"
        )
    return "\n".join(lines)
