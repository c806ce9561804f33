"""The blog's CNN at full size on a GPU: accuracy on the IMDB grouped split, train and predict
rows/s. Two steps, because the GPU machine has torch but neither spaCy nor the vectors:

  prepare (here, CPU):  python scripts/gpu_blog_cnn.py prepare IMDB.csv.gz OUT.npz [--rows N]
      the IMDB train split with 20% of its movies held out (textbatch.model.splits, seed 0:
      the bench's split), the training rows split again by movie for validation, tokenized
      by spaCy and encoded by config/config.json's transformer, embeddings from en_core_web_md
      (`make vectors`); the spaCy tokenization rate here is printed too.
  run (on the GPU):     python scripts/gpu_blog_cnn.py run OUT.npz
      textbatch's own training loop (textbatch.families.torch_loop.train_network) and predict
      classifier (textbatch.families.torch_classifier.NetworkClassifier) on those ids:
      per-epoch train rows/s, held-out accuracy of the best epoch, predict forward rows/s.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def prepare(args: argparse.Namespace) -> None:
    from textbatch.bench.run import read_labelled_csv
    from textbatch.families import family, parse_config
    from textbatch.families.torch_loop import initial_embeddings
    from textbatch.jobs.events import EventLog
    from textbatch.model.splits import group_ids, grouped_split
    from textbatch.model.transformer import TextTransformer, Tokenizer

    config = parse_config((ROOT / "config/config.json").read_text(), source="config.json")
    header, records = read_labelled_csv(Path(args.data))
    if args.rows:
        records = records[: args.rows]
    label_at, group_at, text_at = (header.index(c) for c in ("label", "movie", "text"))
    labels = sorted({r[label_at] for r in records})
    y = np.array([labels.index(r[label_at]) for r in records])
    groups = group_ids([r[group_at] for r in records])
    held = grouped_split(y, groups, 0.2, 0, column="movie")
    inner = grouped_split(
        y[held.train], groups[held.train], config.validation_fraction, config.seed, column="movie"
    )
    train_idx, val_idx = held.train[inner.train], held.train[inner.validation]
    texts = [r[text_at] for r in records]
    started = time.perf_counter()
    tokenized = Tokenizer("en").tokenize(texts)
    rate = len(texts) / (time.perf_counter() - started)
    transformer = TextTransformer.fit(
        (tokenized[i] for i in train_idx), vocab_size=config.vocab_size, seq_len=config.seq_len
    )
    ids = transformer.encode_tokens(tokenized).astype(np.uint16)
    matrix = initial_embeddings(
        config,
        transformer,
        EventLog(job="prepare"),
        family(config.network),  # type: ignore[arg-type]
    )
    config = dataclasses.replace(config, n_classes=len(labels))
    np.savez_compressed(
        args.out,
        x_train=ids[train_idx],
        y_train=y[train_idx],
        x_val=ids[val_idx],
        y_val=y[val_idx],
        x_test=ids[held.validation],
        y_test=y[held.validation],
        embeddings=matrix if matrix is not None else np.zeros((0, 0), np.float32),
        config=np.array(json.dumps(config.to_dict())),
        labels=np.array(json.dumps(labels)),
        vocab_rows=np.array(transformer.rows),
    )
    print(
        json.dumps(
            {
                "rows": len(records),
                "train": len(train_idx),
                "validation": len(val_idx),
                "test": len(held.validation),
                "spacy_tokenize_rows_per_s_one_core": round(rate, 1),
                "vectors": matrix is not None,
            }
        )
    )


def run(args: argparse.Namespace) -> None:
    import torch

    from textbatch.families import config_from_dict, family
    from textbatch.families.torch_classifier import NetworkClassifier
    from textbatch.families.torch_loop import train_network
    from textbatch.jobs.events import EventLog
    from textbatch.model.artifacts import Model
    from textbatch.model.device import select_device
    from textbatch.model.networks import build_network
    from textbatch.model.spec import ModelSpec

    saved = np.load(args.data)
    config = config_from_dict(json.loads(str(saved["config"])), source="config")
    if args.epochs:
        config = dataclasses.replace(
            config, num_epoch=args.epochs, early_stopping_patience=args.patience
        )
    labels = json.loads(str(saved["labels"]))
    matrix = saved["embeddings"]
    embed = matrix.shape[1] if matrix.size else config.embed_size
    spec = ModelSpec.from_config(config, vocab_rows=int(saved["vocab_rows"]), embed_size=embed)
    torch.manual_seed(config.seed)
    network = build_network(spec)
    if matrix.size:
        network.embedding.weight.data[: len(matrix)].copy_(torch.from_numpy(matrix))

    def tensor(name: str) -> torch.Tensor:
        return torch.from_numpy(saved[name].astype(np.int64))

    device = select_device()
    started = time.perf_counter()
    trained = train_network(
        network,
        config,
        tensor("x_train"),
        tensor("y_train"),
        tensor("x_val"),
        tensor("y_val"),
        device,
        EventLog(job="train"),
        clip_gradients=family(config.network).clip_gradients,  # type: ignore[attr-defined]
    )
    train_seconds = time.perf_counter() - started
    weights = {k: v.numpy() for k, v in trained.state.items()}
    model = Model(None, spec, weights, None, config, labels)  # type: ignore[arg-type]
    classifier = NetworkClassifier(model)
    x_test = saved["x_test"].astype(np.int64)
    classifier.predict(x_test[:512])  # warm-up: CUDA context and kernels
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    probs = classifier.predict(x_test)
    predict_seconds = time.perf_counter() - started
    accuracy = float((probs.argmax(axis=1) == saved["y_test"]).mean())
    print(
        json.dumps(
            {
                "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
                "torch": torch.__version__,
                "train_rows": len(saved["y_train"]),
                "num_epoch": config.num_epoch,
                "early_stopping_patience": config.early_stopping_patience,
                "epochs_run": trained.epochs_run,
                "best_epoch": trained.best_epoch,
                "train_seconds": round(train_seconds, 1),
                "train_rows_per_s": round(
                    len(saved["y_train"]) * trained.epochs_run / train_seconds, 1
                ),
                "test_rows": len(x_test),
                "test_accuracy": round(accuracy, 4),
                "predict_forward_rows_per_s": round(len(x_test) / predict_seconds, 1),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True)
    p = commands.add_parser("prepare")
    p.add_argument("data")
    p.add_argument("out")
    p.add_argument("--rows", type=int, default=0, help="only the first N rows (0: all)")
    p.set_defaults(run=prepare)
    r = commands.add_parser("run")
    r.add_argument("data")
    r.add_argument("--epochs", type=int, default=0, help="instead of the config's num_epoch")
    r.add_argument("--patience", type=int, default=0, help="with --epochs: early stopping")
    r.set_defaults(run=run)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
