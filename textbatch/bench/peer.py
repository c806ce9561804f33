"""The peer a user would pick instead: scikit-learn TF-IDF (word 1-2 grams) + logistic regression,
as a train step and a whole-job CSV-to-CSV predict step (`python -m textbatch.bench.peer`).
Bench-only: scikit-learn is the `bench` extra, not a runtime dependency."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from textbatch.io import csv_table
from textbatch.io.csv_table import LABEL_COLUMNS, TEXT_COLUMNS, open_table


def train(data: Path, model: Path) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    with open_table(data) as table:
        label_at = table.column(None, candidates=LABEL_COLUMNS, role="label")
        text_at = table.column(None, candidates=TEXT_COLUMNS, role="text", besides=(label_at,))
        rows = [(r.fields[text_at], r.fields[label_at]) for r in table.records()]
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(max_iter=1000, C=4.0),
    )
    pipeline.fit([t for t, _ in rows], [y for _, y in rows])
    # The bench's own artifact, written and read in the same run: never user input.
    model.write_bytes(pickle.dumps(pipeline))


def predict(model: Path, data: Path, output: Path) -> None:
    pipeline = pickle.loads(model.read_bytes())
    labels = list(pipeline.classes_)
    with open_table(data) as table, open(output, "w", encoding="utf-8", newline="") as out:
        text_at = table.column(None, candidates=TEXT_COLUMNS, role="text", besides=())
        writer = csv_table.writer(out)
        writer.writerow([*table.header, "prediction", "confidence", *(f"prob_{x}" for x in labels)])
        batch = []
        for record in table.records():
            batch.append(record.fields)
            if len(batch) == 2048:
                _write(writer, pipeline, batch, text_at, labels)
                batch = []
        _write(writer, pipeline, batch, text_at, labels)


def _write(writer, pipeline, batch, text_at, labels) -> None:
    if not batch:
        return
    for fields, p in zip(batch, pipeline.predict_proba([f[text_at] for f in batch]), strict=True):
        best = int(p.argmax())
        writer.writerow([*fields, labels[best], f"{p[best]:.6f}", *(f"{v:.6f}" for v in p)])


if __name__ == "__main__":
    command, *paths = sys.argv[1:]
    {"train": train, "predict": predict}[command](*map(Path, paths))
