"""The encoder family at full size on a GPU: accuracy on the grouped splits of the shared sets,
train and predict rows/s, the blend with `fast`. Two steps, because what travels to a lent GPU
machine is limited (64 MiB) and it cannot reach the package registry:

  prepare (here, CPU):  python scripts/gpu_encoder.py prepare .gpudata IMDB.csv.gz:movie \\
                            20NG.csv.gz:thread [--rows N]
      each set split as `textbatch bench` splits it (20% of the groups held out, seed 0) and its
      training rows again by group for validation, as the train job would with
      config/encoder.json; the word pieces of every row (the pinned all-MiniLM-L6-v2's tokenizer,
      head+tail truncation); `fast` (config/fast.json) fitted here on the same rows, its
      validation probabilities (its model before the refit) and its test probabilities; the
      held-out texts (to time the tokenizer there). The pinned weights as float16 (45 MB; the
      91 MB float32 file does not travel), converted back to float32 there.
  run (on the GPU):     python scripts/gpu_encoder.py run .gpudata [--epochs N --patience P]
      the pretrained encoder fine-tuned by textbatch's own loop (float16 autocast on CUDA) and
      scored by its own classifier (batches by length): per set the held-out accuracy of the
      encoder, of `fast` and of their blend (the weight chosen on the validation rows, as
      config/encoder-fast.json does), train rows/s, predict rows/s of the network and of the
      tokenizer. Runs on a CPU too (slowly: with --rows, to check the script).
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WEIGHTS = "minilm-float16.safetensors"


def prepare(args: argparse.Namespace) -> None:
    from safetensors.numpy import load_file, save_file

    from textbatch.bench.run import read_labelled_csv
    from textbatch.families import family, parse_config
    from textbatch.families.base import TrainingData
    from textbatch.io.storage import Storage
    from textbatch.jobs.events import EventLog
    from textbatch.model import pretrained
    from textbatch.model.artifacts import Model, sha256
    from textbatch.model.splits import Split, group_ids, grouped_split
    from textbatch.model.wordpiece import WordPieceText

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = parse_config((ROOT / "config/encoder.json").read_text(), source="encoder.json")
    fast_config = parse_config((ROOT / "config/fast.json").read_text(), source="fast.json")
    found = pretrained.locate(config.encoder, None, storage=Storage(), workdir=out)
    text = WordPieceText.fit(
        found.tokenizer_json, seq_len=config.seq_len, head_tokens=config.head_tokens
    )
    half = {k: v.astype(np.float16) if v.dtype == np.float32 else v
            for k, v in load_file(str(found.weights)).items()}  # fmt: skip
    save_file(half, str(out / WEIGHTS))
    summary: dict = {"weights": WEIGHTS, "sha256": sha256(out / WEIGHTS),
                     "from_sha256": found.sha256[pretrained.WEIGHTS], "sets": {}}  # fmt: skip
    nbsvm = family(fast_config.network)
    for spec in args.sets:
        path, column = spec.rsplit(":", 1)
        name = Path(path).parent.name
        header, records = read_labelled_csv(Path(path))
        if args.rows:
            records = records[: args.rows]
        label_at, group_at, text_at = (header.index(c) for c in ("label", column, "text"))
        labels = sorted({r[label_at] for r in records})
        y = np.array([labels.index(r[label_at]) for r in records])
        texts = [r[text_at] for r in records]
        held = grouped_split(y, group_ids([r[group_at] for r in records]), 0.2, 0, column=column)
        train_groups = group_ids([records[i][group_at] for i in held.train])
        inner = grouped_split(
            y[held.train], train_groups, config.validation_fraction, config.seed, column=column
        )
        train_idx, val_idx, test_idx = (
            held.train[inner.train],
            held.train[inner.validation],
            (held.validation),
        )
        started = time.perf_counter()
        ids = text.encode(texts)
        tokenize_rate = len(texts) / (time.perf_counter() - started)
        # fast on the same rows: the train part's texts, split as the encoder's
        train_texts = [texts[i] for i in held.train]
        data = TrainingData(
            texts=train_texts,
            y=y[held.train],
            split=Split(train=inner.train, validation=inner.validation, by=f"group:{column}"),
            rows=np.arange(len(train_texts)),
            source=name,
        )
        fast = dataclasses.replace(fast_config, n_classes=len(labels))

        # one fit, as fast.json fits: its validation probabilities are from before its refit
        fitted = nbsvm.fit(fast, data, EventLog(job="prepare", stream=sys.stderr))
        model = Model(None, fitted.spec, fitted.weights, fitted.transformer, fast, labels)  # type: ignore[arg-type]
        classifier = nbsvm.classifier(model)
        p_fast_val = fitted.probabilities
        p_fast_test = classifier.predict(classifier.prepare([texts[i] for i in test_idx]))
        np.savez_compressed(
            out / f"{name}.npz",
            x_train=ids[train_idx].astype(np.uint16),
            y_train=y[train_idx],
            x_val=ids[val_idx].astype(np.uint16),
            y_val=y[val_idx],
            x_test=ids[test_idx].astype(np.uint16),
            y_test=y[test_idx],
            p_fast_val=p_fast_val.astype(np.float32),
            p_fast_test=p_fast_test.astype(np.float32),
            test_texts=np.frombuffer(
                gzip.compress("\0".join(texts[i] for i in test_idx).encode()), dtype=np.uint8
            ),
            config=np.array(json.dumps({**config.to_dict(), "n_classes": len(labels)})),
            shape=np.array(json.dumps(found.shape)),
            tokenizer=np.array(found.tokenizer_json),
            labels=np.array(json.dumps(labels)),
        )
        summary["sets"][name] = {
            "rows": len(records), "train": len(train_idx), "validation": len(val_idx),
            "test": len(test_idx), "group": column,
            "fast_test_accuracy": round(float((p_fast_test.argmax(1) == y[test_idx]).mean()), 4),
            "tokenize_rows_per_s_here": round(tokenize_rate, 1),
        }  # fmt: skip
    print(json.dumps(summary, indent=1))


def run(args: argparse.Namespace) -> None:
    import torch
    from safetensors.numpy import load_file

    from textbatch.families import config_from_dict
    from textbatch.families.encoder import BLEND_WEIGHTS, EncoderTextClassifier
    from textbatch.families.torch_loop import train_network
    from textbatch.jobs.events import EventLog
    from textbatch.model.artifacts import Model
    from textbatch.model.device import select_device
    from textbatch.model.encoder import EncoderClassifier
    from textbatch.model.spec import ModelSpec
    from textbatch.model.wordpiece import WordPieceText

    folder = Path(args.data)
    pretrained = {k: v.astype(np.float32) if v.dtype == np.float16 else v
                  for k, v in load_file(str(folder / WEIGHTS)).items()}  # fmt: skip
    device = select_device()
    results = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
               "torch": torch.__version__, "sets": {}}  # fmt: skip
    for npz in sorted(folder.glob("*.npz")):
        saved = np.load(npz)
        config = config_from_dict(json.loads(str(saved["config"])), source="config")
        if args.epochs:
            config = dataclasses.replace(
                config, num_epoch=args.epochs, early_stopping_patience=args.patience
            )
        shape, labels = json.loads(str(saved["shape"])), json.loads(str(saved["labels"]))
        torch.manual_seed(config.seed)
        network = EncoderClassifier(shape, len(labels), config.dropout)
        network.load_pretrained(pretrained)

        def tensor(name: str, saved=saved) -> torch.Tensor:
            return torch.from_numpy(saved[name].astype(np.int64))

        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        trained = train_network(
            network, config, tensor("x_train"), tensor("y_train"), tensor("x_val"),
            tensor("y_val"), device, EventLog(job="train", stream=sys.stderr),
            clip_gradients=True,
        )  # fmt: skip
        train_seconds = time.perf_counter() - started
        text = WordPieceText.fit(
            str(saved["tokenizer"]), seq_len=config.seq_len, head_tokens=config.head_tokens
        )
        spec = ModelSpec("encoder", shape["vocab_size"], shape["hidden_size"], len(labels),
                         config.dropout, 0, shape["intermediate_size"],
                         shape["num_hidden_layers"], False, {"shape": shape})  # fmt: skip
        weights = {k: v.numpy() for k, v in trained.state.items()}
        classifier = EncoderTextClassifier(Model(None, spec, weights, text, config, labels))  # type: ignore[arg-type]
        x_test = saved["x_test"].astype(np.int64)
        classifier.predict(x_test[:256])  # warm-up: the CUDA context and kernels
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        p_test = classifier.predict(x_test)
        predict_seconds = time.perf_counter() - started
        p_val = trained.probabilities  # the best epoch's, on the validation rows
        y_val, y_test = saved["y_val"], saved["y_test"]
        scores = {w: float(((w * p_val + (1 - w) * saved["p_fast_val"]).argmax(1) == y_val).mean())
                  for w in BLEND_WEIGHTS}  # fmt: skip
        weight = max(BLEND_WEIGHTS, key=lambda w: (scores[w], -abs(w - 0.5)))
        blend = weight * p_test + (1 - weight) * saved["p_fast_test"]
        test_texts = gzip.decompress(saved["test_texts"].tobytes()).decode().split("\0")
        started = time.perf_counter()
        text.encode(test_texts)
        tokenize_rate = len(test_texts) / (time.perf_counter() - started)

        def accuracy(p: np.ndarray, y_test=y_test) -> float:
            return round(float((p.argmax(1) == y_test).mean()), 4)

        results["sets"][npz.stem] = {
            "train_rows": len(saved["y_train"]), "validation_rows": len(y_val),
            "test_rows": len(y_test), "num_epoch": config.num_epoch,
            "epochs_run": trained.epochs_run, "best_epoch": trained.best_epoch,
            "train_seconds": round(train_seconds, 1),
            "train_rows_per_s": round(len(saved["y_train"]) * trained.epochs_run
                                      / train_seconds, 1),
            "encoder_test_accuracy": accuracy(p_test),
            "fast_test_accuracy": accuracy(saved["p_fast_test"]),
            "blend_weight": weight, "blend_test_accuracy": accuracy(blend),
            "predict_network_rows_per_s": round(len(x_test) / predict_seconds, 1),
            "tokenize_rows_per_s_one_process": round(tokenize_rate, 1),
        }  # fmt: skip
        print(json.dumps({npz.stem: results["sets"][npz.stem]}), flush=True)
    print(json.dumps(results, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True)
    p = commands.add_parser("prepare")
    p.add_argument("out")
    p.add_argument("sets", nargs="+", metavar="FILE:GROUP_COLUMN")
    p.add_argument("--rows", type=int, default=0, help="only the first N rows of each (0: all)")
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
