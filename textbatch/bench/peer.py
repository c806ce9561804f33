"""The peers a user would pick instead, each as a train step and a whole-job CSV-to-CSV predict
step (`python -m textbatch.bench.peer train|predict|knn-train MODEL ...`):

- `lr`: scikit-learn TF-IDF (word 1-2 grams) + logistic regression;
- `cluster`: scikit-learn's MiniBatchKMeans on its TF-IDF (word 1-2 grams), every row with its
  cluster written as the cluster job writes them;
- `knn`: scikit-learn's KNeighborsClassifier (cosine, brute force, distance weights, the knn
  config's n_neighbors) on textbatch's own knn features (hashed n-gram tf-idf, every feature of
  every row): the same features, so the table compares the neighbour search and the vote;
- `knn-tfidf`: the same KNeighborsClassifier on scikit-learn's own TF-IDF (word 1-2 grams,
  min_df 2, sublinear tf): what a user would run instead, features and all.

Bench-only: scikit-learn is the `bench` extra, not a runtime dependency."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from textbatch.io import csv_table
from textbatch.io.csv_table import LABEL_COLUMNS, TEXT_COLUMNS, open_table


def labelled_rows(data: Path) -> list[tuple[str, str]]:
    """(text, label) of every row of a labelled CSV."""
    with open_table(data) as table:
        label_at = table.column(None, candidates=LABEL_COLUMNS, role="label")
        text_at = table.column(None, candidates=TEXT_COLUMNS, role="text", besides=(label_at,))
        return [(r.fields[text_at], r.fields[label_at]) for r in table.records()]


def train(data: Path, model: Path) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    rows = labelled_rows(data)
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(max_iter=1000, C=4.0),
    )
    pipeline.fit([t for t, _ in rows], [y for _, y in rows])
    # The bench's own artifact, written and read in the same run: never user input.
    model.write_bytes(pickle.dumps(pipeline))


class KnnPeer:
    """KNeighborsClassifier over textbatch's knn features (a bench artifact: pickled)."""

    def __init__(self, config: Path, texts: list[str], labels: list[str]) -> None:
        from sklearn.neighbors import KNeighborsClassifier

        from textbatch.families import parse_config
        from textbatch.model import knn
        from textbatch.model.hashing import HashingFeaturizer

        settings = parse_config(config.read_text(), source=str(config))
        self.featurizer = HashingFeaturizer(
            settings.ngrams, settings.ngram_buckets, settings.hashed_tokens
        )
        counts = self.featurizer.counts(texts)
        self.columns, self.idf = knn.fit_features(counts)
        self.classifier = KNeighborsClassifier(
            n_neighbors=settings.n_neighbors, weights="distance", metric="cosine",
            algorithm="brute",
        )  # fmt: skip
        self.classifier.fit(self.matrix(texts), labels)
        self.classes_ = self.classifier.classes_

    def matrix(self, texts: list[str]):
        from scipy.sparse import csr_matrix

        from textbatch.model import knn

        v = knn.vectors(self.featurizer.counts(texts), self.columns, self.idf)
        return csr_matrix((v.value, (v.row, v.feature)), shape=(v.n_rows, len(self.columns)))

    def predict_proba(self, texts: list[str]):
        return self.classifier.predict_proba(self.matrix(texts))


def knn_train(config: Path, data: Path, model: Path) -> None:
    rows = labelled_rows(data)
    peer = KnnPeer(config, [t for t, _ in rows], [y for _, y in rows])
    model.write_bytes(pickle.dumps(peer))  # the bench's own artifact, as train() writes


def knn_tfidf_train(config: Path, data: Path, model: Path) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    from textbatch.families import parse_config

    settings = parse_config(config.read_text(), source=str(config))
    rows = labelled_rows(data)
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        KNeighborsClassifier(
            n_neighbors=settings.n_neighbors, weights="distance", metric="cosine",
            algorithm="brute",
        ),
    )  # fmt: skip
    pipeline.fit([t for t, _ in rows], [y for _, y in rows])
    model.write_bytes(pickle.dumps(pipeline))  # the bench's own artifact, as train() writes


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


def cluster(k: str, data: Path, output: Path) -> None:
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    with open_table(data) as table:
        text_at = table.column(None, candidates=TEXT_COLUMNS, role="text", besides=())
        records = [r.fields for r in table.records()]
        header = table.header
    x = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit_transform(
        [f[text_at] for f in records]
    )
    found = MiniBatchKMeans(n_clusters=int(k), random_state=0, n_init=3, batch_size=1024)
    labels = found.fit_predict(x)
    with open(output, "w", encoding="utf-8", newline="") as out:
        writer = csv_table.writer(out)
        writer.writerow([*header, "cluster"])
        for fields, label in zip(records, labels, strict=True):
            writer.writerow([*fields, str(label)])


if __name__ == "__main__":
    command, *paths = sys.argv[1:]
    if command == "cluster":
        cluster(paths[0], Path(paths[1]), Path(paths[2]))
    else:
        {"train": train, "predict": predict, "knn-train": knn_train,
         "knn-tfidf-train": knn_tfidf_train}[command](*map(Path, paths))  # fmt: skip
