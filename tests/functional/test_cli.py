"""The `textbatch` console script as a user runs it: a real process, S3 via AWS_ENDPOINT_URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from textbatch_contract.settings import STACK_OUTPUTS

from tests.conftest import write_config


def textbatch(
    *args: str, env: dict[str, str] | None = None, unset: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in {**os.environ, **(env or {})}.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "-m", "textbatch.cli.main", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )


def test_train_and_predict_through_s3_with_standard_aws_settings(
    aws_env, s3, bucket, tmp_path, sample_train, sample_predict
) -> None:
    s3.upload_file(str(sample_train), bucket, "train.csv")
    s3.upload_file(str(sample_predict), bucket, "in/claims.csv")
    train = textbatch(
        "train",
        "--config", str(write_config(tmp_path, num_epoch=2)),
        "--data", f"s3://{bucket}/train.csv",
        "--out", f"s3://{bucket}/",
    )  # fmt: skip
    assert train.returncode == 0, train.stderr
    events = [json.loads(line) for line in train.stdout.splitlines()]
    assert events[-1]["event"] == "done"
    predict = textbatch(
        "predict",
        "--model", f"s3://{bucket}",
        "--input", f"s3://{bucket}/in/claims.csv",
        "--output", f"s3://{bucket}/results/",
    )  # fmt: skip
    assert predict.returncode == 0, predict.stderr
    summary = json.loads(
        s3.get_object(Bucket=bucket, Key="results/claims_output.json")["Body"].read()
    )
    assert summary["rows_in"] == 60
    assert summary["model_version"] == events[-1]["version"]


def test_a_user_mistake_is_one_message_and_exit_1(tmp_path) -> None:
    bad = tmp_path / "c.json"
    bad.write_text('{"dropout": 1.5}')
    result = textbatch("train", "--config", str(bad), "--data", "x.csv", "--out", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert "dropout = 1.5 is invalid" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_credentials_are_explained_without_a_traceback(tmp_path) -> None:
    env = {
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    result = textbatch(
        "predict", "--model", "s3://some-bucket", "--input", "in.csv", "--output", str(tmp_path),
        env=env,
    )  # fmt: skip
    assert result.returncode == 1
    assert "no AWS credentials found" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_the_commands() -> None:
    result = textbatch("--help")
    assert result.returncode == 0
    for command in ("train", "predict", "demo", "sample-data"):
        assert command in result.stdout


def deploy_outputs(aws_env: str, stage: str, outputs: dict[str, str]) -> None:
    """A stack named like a deployed stage, whose outputs point at the moto resources."""
    import boto3

    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation", endpoint_url=aws_env, region_name="us-east-1").create_stack(
        StackName=f"Textbatch-{stage}", TemplateBody=json.dumps(template)
    )


def test_submit_takes_the_trigger_path_by_hand(aws_env, s3, bucket, trigger_cloud) -> None:
    settings, batch, _, _ = trigger_cloud
    outputs = {
        output: str(getattr(settings, field)) for field, output in STACK_OUTPUTS.items()
    }  # as the CDK app declares them (textbatch_contract.settings)
    deploy_outputs(aws_env, "handtest", outputs)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="in/claims é.csv", Body=b"text\nfire\n")
    uri = f"s3://{bucket}/in/claims é.csv"
    first = textbatch("submit", uri, "--stage", "handtest")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"submitted: {uri} -> job ")
    assert first.stdout.rstrip().endswith("on the CPU queue")  # no model published: cheapest
    again = textbatch("submit", uri, "--stage", "handtest")
    assert again.stdout.startswith("duplicate:")
    # the same options as every cloud command: here the endpoint is only on the command line
    forced = textbatch(
        "submit", uri, "--stage", "handtest", "--force", "--endpoint", aws_env,
        unset=("AWS_ENDPOINT_URL",),
    )  # fmt: skip
    assert forced.stdout.startswith("submitted:"), forced.stderr
    summaries = [
        job
        for status in ("SUBMITTED", "SUCCEEDED")
        for job in batch.list_jobs(jobQueue=settings.cpu_job_queue, jobStatus=status)[
            "jobSummaryList"
        ]
    ]
    assert len({j["jobId"] for j in summaries}) == 2


def test_submit_names_a_missing_stack_or_object(aws_env, bucket) -> None:
    result = textbatch("submit", f"s3://{bucket}/x.csv", "--stage", "nope")
    assert result.returncode == 1
    assert "stack Textbatch-nope not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_cloud_commands_that_cannot_reach_the_stage_say_so_in_one_line(tmp_path) -> None:
    unreachable = ("--stage", "dev", "--endpoint", "http://127.0.0.1:9", "--region", "us-east-1")
    for args in (
        ("submit", "s3://b/x.csv", *unreachable),
        ("train", "--config", "c.json", "--data", "d.csv", "--submit", *unreachable),
    ):
        result = textbatch(*args, env={"AWS_MAX_ATTEMPTS": "1"})
        assert result.returncode == 1, args
        assert result.stderr.startswith("error: cannot look up stack Textbatch-dev"), args
        assert "Traceback" not in result.stderr


def test_a_missing_group_column_is_one_line_and_exit_1(tmp_path, sample_train) -> None:
    result = textbatch(
        "train",
        "--config", str(write_config(tmp_path, num_epoch=1)),
        "--data", str(sample_train),
        "--out", str(tmp_path / "store"),
        "--group-column", "thread",
    )  # fmt: skip
    assert result.returncode == 1
    message, hint = result.stderr.strip().splitlines()
    assert message.startswith("error: ")
    assert "no column 'thread'" in message
    assert hint.startswith("  hint: ")


def test_a_job_stopped_by_sigterm_logs_it_and_writes_its_report(trained, tmp_path) -> None:
    """Batch stops a job with SIGTERM (terminate-job, the attempt timeout), SIGKILL 30 s later:
    the job ends at once with a `failed` line and the file's error report, and its workers go."""
    import json
    import signal
    import subprocess
    import sys
    import time

    from textbatch.sample_data import generate, write_csv

    store, _ = trained
    write_csv(tmp_path / "big.csv", generate(30_000, seed=3), labelled=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "textbatch.cli.main", "predict", "--model", str(store),
         "--input", str(tmp_path / "big.csv"), "--output", str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    for line in process.stdout:
        if json.loads(line)["event"] == "progress":  # predicting, workers running
            break
    stopped = time.monotonic()
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert time.monotonic() - stopped < 10
    assert process.returncode == 1
    assert "stopped by SIGTERM" in err
    assert "Traceback" not in err
    failed = json.loads(out.splitlines()[-1])
    assert (failed["event"], failed["error"]) == ("failed", "Stopped")
    report = json.loads((tmp_path / "out" / "big_error.json").read_text())
    from textbatch_contract.documents import STOPPED_ERROR

    assert report["error"] == STOPPED_ERROR  # the name the failure reporter looks for
    assert not (tmp_path / "out" / "big_output.csv").exists()


RACE = """
import os, signal, sys, time
from textbatch.cli.main import stop_on_sigterm
from textbatch.model.workers import _forked_pool
stop_on_sigterm()  # the job's handler: raises Stopped
# the worst timing there is: each worker gets SIGTERM the instant it is forked, before its
# initializer has run (the pool's terminate after a bad file can come that early)
os.register_at_fork(after_in_child=lambda: os.kill(os.getpid(), signal.SIGTERM))
pool = _forked_pool(2)
time.sleep(0.3)
pool.terminate()
pool.join()
print("ended")
"""


def test_a_worker_killed_before_its_initializer_ends_silently() -> None:
    """Issue 25's race: a SIGTERM that reaches a pool worker before it has reset the job's
    handler raised the job's Stopped in the worker (`Process ForkPoolWorker-1: Traceback ...
    stopped by SIGTERM`). Forced here on every worker: with the handler reset but SIGTERM not
    blocked at the fork (the code before the fix) it prints two tracebacks."""
    result = subprocess.run(
        [sys.executable, "-c", RACE], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ended"
    assert "Traceback" not in result.stderr
    assert "SIGTERM" not in result.stderr


def test_a_bad_csv_ends_in_one_message_every_time(trained, tmp_path) -> None:
    """The unbalanced quote of issue 25 (a traceback in about 1 run of 6 then): 12 runs, four at
    a time (load makes the race likelier), each one message naming the line, exit 1."""
    from concurrent.futures import ThreadPoolExecutor

    store, _ = trained
    rows = ["text", *(f"claim {i}: water in the engine bay, noise at speed" for i in range(6000))]
    rows[3] = '"an unbalanced quote that never ends'
    (tmp_path / "bad.csv").write_text("\n".join(rows) + "\n")

    def run(i: int) -> subprocess.CompletedProcess:
        return textbatch(
            "predict", "--model", str(store), "--input", str(tmp_path / "bad.csv"),
            "--output", str(tmp_path / f"out{i}"), "--log-format", "json",
        )  # fmt: skip

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, range(12)))
    for result in results:
        assert result.returncode == 1
        assert "Traceback" not in result.stderr + result.stdout
        assert "SIGTERM" not in result.stderr
        assert result.stderr.startswith("error: ")
        assert "cannot parse CSV at line 4" in result.stderr
