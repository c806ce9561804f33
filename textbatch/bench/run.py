"""Train and evaluate each configuration and the peer on one split, in one run.

Every job runs in its own process, as on Batch: whole-job figures include process start, CSV
in and CSV out. Figures are reported, never asserted: this machine is noisy, so compare rows
of one table, not tables of different runs.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from textbatch.model.metrics import classification_report

TEXTBATCH = (sys.executable, "-m", "textbatch.cli.main")
PEER = (sys.executable, "-m", "textbatch.bench.peer")


@dataclass(frozen=True)
class BenchRow:
    name: str
    accuracy: float
    macro_f1: float
    train_seconds: float
    predict_rows_per_s: float  # whole job: process start, CSV in, CSV out
    forward_rows_per_s: float | None  # the network alone, on pre-encoded texts
    predict_peak_rss_mib: float
    rows: int


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a child process; raises if it fails."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{process.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def score(output: Path) -> tuple[float, float, int]:
    with open(output, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    label = next(k for k in ("label", "sentiment", "category", "class") if k in rows[0])
    labels = sorted({r[label] for r in rows} | {r["prediction"] for r in rows})
    index = {x: i for i, x in enumerate(labels)}
    report = classification_report(
        np.array([index[r[label]] for r in rows]),
        np.array([index[r["prediction"]] for r in rows]),
        labels,
    )
    return report["accuracy"], report["macro_f1"], len(rows)


def forward_rate(model_dir: Path, test: Path) -> float:
    """Rows/s of the model alone (the predict job's classifier) on texts encoded beforehand."""
    from textbatch.io.csv_table import TEXT_COLUMNS, open_table
    from textbatch.io.storage import Storage
    from textbatch.model.artifacts import open_model
    from textbatch.model.inference import classifier_for

    model = open_model(str(model_dir), Storage())
    with open_table(test) as table:
        at = table.column(None, candidates=TEXT_COLUMNS, role="text", besides=())
        ids = model.transformer.encode([r.fields[at] for r in table.records()])
    classifier = classifier_for(model)
    started = time.perf_counter()
    classifier.predict_ids(ids)
    return len(ids) / (time.perf_counter() - started)


def split_data(path: Path, workdir: Path, *, test_fraction: float, seed: int) -> tuple[Path, Path]:
    """A labelled CSV (or .csv.gz) split at random, seeded, into train.csv and test.csv."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        header, *records = list(csv.reader(f))
    random.Random(seed).shuffle(records)
    cut = int(len(records) * (1 - test_fraction))
    workdir.mkdir(parents=True, exist_ok=True)
    paths = workdir / "train.csv", workdir / "test.csv"
    for target, part in zip(paths, (records[:cut], records[cut:]), strict=True):
        with open(target, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(part)
    return paths


def run_bench(train: Path, test: Path, configs: list[Path], workdir: Path) -> list[BenchRow]:
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for config in configs:
        name = config.stem
        store, output = workdir / f"model-{name}", workdir / f"{name}_output.csv"
        train_s, _ = timed(
            [
                *TEXTBATCH,
                "train",
                "--config",
                str(config),
                "--data",
                str(train),
                "--out",
                str(store),
            ]
        )
        predict_s, rss = timed(
            [
                *TEXTBATCH,
                "predict",
                "--model",
                str(store),
                "--input",
                str(test),
                "--output",
                str(output),
            ]
        )
        accuracy, f1, n = score(output)
        rows.append(
            BenchRow(name, accuracy, f1, train_s, n / predict_s, forward_rate(store, test), rss, n)
        )
        print(f"  {name}: done", flush=True)
    peer_model, peer_output = workdir / "peer.pkl", workdir / "peer_output.csv"
    train_s, _ = timed([*PEER, "train", str(train), str(peer_model)])
    predict_s, rss = timed([*PEER, "predict", str(peer_model), str(test), str(peer_output)])
    accuracy, f1, n = score(peer_output)
    rows.append(
        BenchRow("sklearn tfidf+logreg", accuracy, f1, train_s, n / predict_s, None, rss, n)
    )
    (workdir / "bench.json").write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return rows


def table(rows: list[BenchRow]) -> str:
    peer = rows[-1]
    lines = [
        "| run | accuracy | macro-F1 | train s | predict rows/s (whole job) | vs peer "
        "| forward rows/s | peak RSS MiB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        forward = "-" if r.forward_rows_per_s is None else f"{r.forward_rows_per_s:,.0f}"
        ratio = r.predict_rows_per_s / peer.predict_rows_per_s
        lines.append(
            f"| {r.name} | {r.accuracy:.4f} | {r.macro_f1:.4f} | {r.train_seconds:.1f} | "
            f"{r.predict_rows_per_s:,.0f} | {ratio:.2f}x | {forward} | "
            f"{r.predict_peak_rss_mib:,.0f} |"
        )
    return "\n".join(lines)
