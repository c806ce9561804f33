"""Train on the bundled warranty claims and classify the bundled sample CSV, locally.

Writes the model, the results and the jobs' JSON logs under --workdir and prints a summary.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import textwrap
from pathlib import Path

from textbatch.jobs.events import EventLog
from textbatch.jobs.predict import PredictRequest, run_predict
from textbatch.jobs.train import TrainRequest, run_train
from textbatch.sample_data import BUNDLED_DIR

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "warranty.json"


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "demo", help="train and predict on bundled data", description=__doc__
    )
    parser.add_argument("--workdir", type=Path, default=Path("demo-output"))
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="model config JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    workdir: Path = args.workdir
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    train_data = BUNDLED_DIR / "warranty_train.csv"
    predict_input = BUNDLED_DIR / "warranty_predict.csv"
    models, results = workdir / "models-store", workdir / "results"

    print(f"training on {train_data.name} with {args.config} ...", flush=True)
    with open(workdir / "train.log", "w", encoding="utf-8") as train_log:
        trained = run_train(
            TrainRequest(config=args.config, data=str(train_data), out=str(models)),
            log=EventLog(train_log, job="train"),
        )
    validation = trained.metrics["validation"]
    print(
        f"  model {trained.version}: {trained.train_rows} training rows, "
        f"{trained.validation_rows} validation rows, {trained.seconds:.1f} s\n"
        f"  validation accuracy {validation['accuracy']:.3f}, macro-F1 {validation['macro_f1']:.3f}"
    )

    print(f"classifying {predict_input.name} ...", flush=True)
    with open(workdir / "predict.log", "w", encoding="utf-8") as predict_log:
        summary = run_predict(
            PredictRequest(model=str(models), input=str(predict_input), output=str(results)),
            log=EventLog(predict_log, job="predict"),
        )
    print(
        f"  {summary.rows_in} rows in, {summary.rows_predicted} predicted, "
        f"{summary.rows_rejected} rejected, {summary.rows_per_s:.0f} rows/s\n"
        f"  predictions: {', '.join(f'{k} {v}' for k, v in summary.predictions.items())}"
    )
    print("first rows:")
    with open(summary.output, encoding="utf-8", newline="") as f:
        for row in list(csv.DictReader(f))[:5]:
            text = textwrap.shorten(" ".join(row["text"].split()), width=70, placeholder="...")
            print(f"  {row['prediction']:<13} {float(row['confidence']):.2f}  {text}")
    print(
        f"results: {summary.output}\nsummary: {summary.output[:-4]}.json\n"
        f"logs:    {workdir / 'train.log'}, {workdir / 'predict.log'}"
    )
    return 0
