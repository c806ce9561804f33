"""The whole user journey on the local cloud, on the bundled warranty claims.

Starts the local cloud (unless one is running), trains a model with a Batch train job, uploads
a sample CSV to the predict bucket (the bundled claims with the category each submitter chose,
some slipped, named for review routing in the upload's metadata), waits while the trigger and
the predict job do their work, prints the first rows, the summary with its review and shift
lines and the first rows to review, and the job's CloudWatch log lines, and stops the local
cloud it started.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from textbatch_contract import OutputPlan, results_prefix, review
from textbatch_contract import stack as stack_outputs
from textbatch_contract.settings import STACK_OUTPUTS

from textbatch.cli.options import examples
from textbatch.errors import TextbatchError
from textbatch.io import csv_table
from textbatch.jobs.render import readable
from textbatch.jobs.routing import summary_lines
from textbatch.local import control
from textbatch.local.runtime import RUNTIME_OUTPUT
from textbatch.sample_data import BUNDLED, BUNDLED_DIR, generate, with_submitted, write_csv

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "warranty.json"
UPLOAD_KEY = "in/warranty_predict.csv"
DEMO_SLIPS = 0.1
RESULT_TIMEOUT_S = 180


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "demo",
        help="the whole pipeline on the local cloud",
        description=__doc__,
        epilog=examples("make demo", "textbatch demo --config config/fast.json"),
    )
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="model config JSON")
    parser.add_argument("--endpoint", help="use a running LocalStack, e.g. http://localhost:4566")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    cloud = control.running()
    owned = cloud is None
    if owned:
        say("starting the local cloud", end="")
        cloud = control.start(args.endpoint, None, tick=lambda: print(".", end="", flush=True))
        print(" ready")
    say(f"jobs run as {cloud.outputs[RUNTIME_OUTPUT]}")
    try:
        os.environ.update(control.environment(cloud))
        _journey(args.config, cloud.outputs)
    finally:
        if owned:
            control.stop()
            say("local cloud stopped")
    say(f"demo finished in {time.monotonic() - started:.0f} s")
    return 0


def _journey(config: str, outputs: dict[str, str]) -> None:
    import boto3

    from textbatch.cloud.deployment import Deployment
    from textbatch.cloud.follow import follow
    from textbatch.cloud.training import follow_training, submit_training
    from textbatch.io.storage import Storage

    deployment = Deployment.find("local", boto3.client("cloudformation"))
    batch, logs, s3 = boto3.client("batch"), boto3.client("logs"), boto3.client("s3")

    job = submit_training(
        deployment,
        config=config,
        data=str(BUNDLED_DIR / "warranty_train.csv"),
        out=None,
        batch=batch,
        storage=Storage(s3),
    )
    say(
        f"1. training: a Batch train job on {job['queue'].rsplit('/', 1)[-1]} "
        f"({Path(config).name}: its family trains {_on(job['queue'], outputs)})"
    )
    trained = follow_training(
        deployment, job["jobId"], batch=batch, logs=logs, show=lambda s: say("   " + s)
    )
    if trained["status"] != "SUCCEEDED":
        raise TextbatchError(f"the train job failed: {trained.get('statusReason')}")

    predict_bucket = outputs[stack_outputs.PREDICT_BUCKET]
    say(
        f"2. upload: s3://{predict_bucket}/{UPLOAD_KEY} (the bundled claims with the category "
        "each submitter chose, wrong in about 1 row of 10; the upload's metadata names that "
        "column for review routing)"
    )
    uploaded = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="textbatch-demo-") as tmp:
        upload = Path(tmp) / "warranty_predict.csv"
        rows, seed, _ = BUNDLED["warranty_predict.csv"]
        write_csv(
            upload,
            with_submitted(generate(rows, seed=seed), DEMO_SLIPS, seed=seed),
            labelled=False,
            submitted=True,
        )
        s3.upload_file(
            str(upload),
            predict_bucket,
            UPLOAD_KEY,
            ExtraArgs={"Metadata": {review.COMPARE_METADATA: "submitted"}},
        )

    say("3. the trigger submits a predict job; waiting for it")
    job_id, queue = _wait_for_predict_job(batch, outputs, f"s3://{predict_bucket}/{UPLOAD_KEY}")
    say(
        f"   on {queue}: the {_on(queue, outputs)} queue, the one the model's manifest asks for "
        f"(wants_gpu: {str(_on(queue, outputs) == 'GPU').lower()})"
    )
    lines = []
    for update in follow(
        batch,
        logs,
        job_id,
        log_group=outputs[stack_outputs.JOB_LOG_GROUP],
        timeout_seconds=RESULT_TIMEOUT_S,
    ):
        if update.status:
            say(f"   job {job_id}: {update.status}")
        elif update.line:
            lines.append(update.line)
    storage = Storage(s3)
    plan = OutputPlan.for_request(
        f"s3://{predict_bucket}/{UPLOAD_KEY}",
        results_prefix(outputs[STACK_OUTPUTS["results_location"]], UPLOAD_KEY),
    )
    summary = storage.read_json_or_none(plan.summary)
    if summary is None:
        report = storage.read_json_or_none(plan.error) or {}
        raise TextbatchError(
            f"the predict job wrote no result: {report.get('message', 'no error report either')}",
            hint=f"textbatch logs {job_id}",
        )
    say(f"   upload to result: {time.monotonic() - uploaded:.1f} s")

    body = storage.read_bytes(plan.csv).decode("utf-8")
    say(f"4. results: {plan.csv}")
    header, *records = csv_table.reader(io.StringIO(body, newline=""))
    for row in [dict(zip(header, r, strict=False)) for r in records[:5]]:
        text = textwrap.shorten(" ".join(row["text"].split()), width=64, placeholder="...")
        say(f"   {row['prediction']:<13} {float(row['confidence']):.2f}  {text}")
    say(
        f"   summary: {summary['rows_in']} rows in, {summary['rows_predicted']} predicted, "
        f"{summary['rows_rejected']} rejected, model {summary['model_version']}; "
        + ", ".join(f"{k} {v}" for k, v in summary["predictions"].items())
    )
    for line in summary_lines(summary):
        say("   " + line)
    review_body = storage.read_bytes(plan.review).decode("utf-8")
    _, *to_review = csv_table.reader(io.StringIO(review_body, newline=""))
    for r in to_review[:3]:
        say(f"   review row {r[0]}: {r[1]}, predicted {r[2]} ({float(r[3]):.2f}), "
            f"submitted {r[-1]}")  # fmt: skip
    say(f"5. the predict job's CloudWatch log lines ({outputs[stack_outputs.JOB_LOG_GROUP]}):")
    for line in lines:
        say("   " + readable(line))
    say(f"   (the lines as JSON, as CloudWatch Logs holds them: textbatch logs {job_id} --json)")


def _on(queue: str, outputs: dict[str, str]) -> str:
    """GPU or CPU: which of the stage's queues `queue` (a name or ARN) is."""
    return "GPU" if queue.rsplit("/", 1)[-1] == outputs[STACK_OUTPUTS["gpu_job_queue"]] else "CPU"


def _wait_for_predict_job(batch: Any, outputs: dict[str, str], uri: str) -> tuple[str, str]:
    """The predict job's id and queue: the trigger picks the GPU or the CPU queue by model."""
    from textbatch.cloud.history import job_summaries

    queues = [outputs[STACK_OUTPUTS["gpu_job_queue"]], outputs[STACK_OUTPUTS["cpu_job_queue"]]]
    deadline = time.monotonic() + RESULT_TIMEOUT_S
    while time.monotonic() < deadline:
        for queue in queues:
            for summary in job_summaries(batch, [queue]):
                if summary["jobName"].startswith("tb-warranty_predict"):
                    return summary["jobId"], queue
        time.sleep(0.5)
    raise TextbatchError(f"no predict job appeared for {uri} within {RESULT_TIMEOUT_S} s")


def say(text: str, end: str = "\n") -> None:
    print(text, end=end, flush=True)
