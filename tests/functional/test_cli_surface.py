"""The command line as people and scripts meet it: help, spellings, what goes to stdout, and a
job run on a terminal (a real pseudo-terminal, through `script`) against one piped."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.test_cli import textbatch
from textbatch.cli.main import build_parser
from textbatch.cli.status import EXIT_CODES, state_of
from textbatch.cloud.history import JobRecord
from textbatch.cloud.story import Story
from textbatch.sample_data import generate, write_csv

USER_COMMANDS = {
    "train", "predict", "cluster", "submit", "jobs", "status", "logs", "results", "local",
    "bench", "models", "demo", "sample-data",
}  # fmt: skip


def test_help_lists_the_user_commands_only_and_each_has_examples() -> None:
    shown = textbatch("--help")
    assert shown.returncode == 0
    listed = {
        line.split()[0]
        for line in shown.stdout.split("positional arguments:")[1]
        .split("options:")[0]
        .splitlines()[2:]
        if line.startswith("    ") and not line.startswith("     ")
    }
    assert listed == USER_COMMANDS  # split, predict-part, merge: Batch's, not listed
    assert "examples:" in shown.stdout
    for command in USER_COMMANDS:
        helped = textbatch(command, "--help")
        assert helped.returncode == 0, command
        assert "\nexamples:\n  " in helped.stdout, command
    assert textbatch("merge", "--help").returncode == 0  # still there for Batch


def test_one_spelling_per_meaning_with_the_earlier_ones_kept_and_not_shown() -> None:
    parser = build_parser()
    old = parser.parse_args(["train", "--config", "c.json", "--data", "d.csv", "--out", "m",
                             "--submit", "--wait"])  # fmt: skip
    new = parser.parse_args(["train", "--config", "c.json", "--input", "d.csv", "-o", "m",
                             "--submit", "-f"])  # fmt: skip
    assert (
        (old.data, old.out, old.follow) == (new.data, new.out, new.follow) == ("d.csv", "m", True)
    )
    predicted = parser.parse_args(["predict", "--model", "m", "--input", "x.csv", "-o", "out/"])
    assert predicted.output == "out/"
    assert parser.parse_args(["sample-data", "--out", "a.csv"]).output == Path("a.csv")
    assert parser.parse_args(["logs", "JOB", "-f"]).follow
    helped = textbatch("train", "--help").stdout
    assert "--input INPUT" in helped
    assert "--output OUTPUT, -o OUTPUT" in helped
    assert "--follow, -f" in helped
    for hidden in ("--data", "--out ", "--wait"):
        assert hidden not in helped, hidden


def test_a_mistyped_command_or_choice_gets_the_near_one() -> None:
    typo = textbatch("predcit")
    assert typo.returncode == 2
    assert "unknown command 'predcit'; did you mean predict?" in typo.stderr
    assert "predict-part" not in typo.stderr  # internal commands are not offered
    choice = textbatch("train", "--promote", "alway", "--config", "c", "--input", "d")
    assert "did you mean always?" in choice.stderr


def test_a_cloud_command_without_a_region_says_how_to_get_one() -> None:
    result = textbatch(
        "jobs",
        env={"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"},
        unset=("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_PROFILE"),
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "--region" in result.stderr
    assert 'eval "$(textbatch local env)"' in result.stderr


def _job(status: str) -> JobRecord:
    return JobRecord(
        job_id="j", name="n", kind="predict", step=None, queue="q", status=status, attempts=1,
        created=0.0, started=None, stopped=None, input=None, output=None, rows_done=None,
        status_reason=None, raw={},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("story", "state"),
    [
        (Story("s3://b/k", summary={"rows_in": 1}, jobs=[_job("SUCCEEDED")]), "succeeded"),
        (Story("s3://b/k", error={"error": "InputError"}, jobs=[_job("FAILED")]), "failed"),
        (Story("s3://b/k", jobs=[_job("FAILED")]), "failed"),
        (Story("s3://b/k", jobs=[_job("RUNNING")]), "running"),
        (Story("s3://b/k", jobs=[_job("RUNNABLE")]), "pending"),
        (Story("s3://b/k", jobs=[_job("SUCCEEDED")]), "pending"),  # its result not written yet
        (Story(None, jobs=[_job("SUCCEEDED")]), "succeeded"),  # a job asked for by id
        (Story("s3://b/k", decisions=[{"decision": "ignored"}]), "ignored"),
        (Story("s3://b/k", decisions=[{"decision": "submitted"}]), "pending"),
    ],
)
def test_the_status_exit_code_follows_the_state(story, state) -> None:
    assert state_of(story) == state
    assert EXIT_CODES[state] == {"succeeded": 0, "failed": 3, "ignored": 3}.get(state, 4)


@pytest.fixture
def new_file(trained, tmp_path) -> tuple[Path, Path]:
    store, _ = trained
    write_csv(tmp_path / "new.csv", generate(3000, seed=5), labelled=False)
    return store, tmp_path / "new.csv"


def on_a_terminal(*args: str, cwd: Path) -> str:
    """The command's output as a person's terminal gets it (stdout and stderr on one pty)."""
    assert shutil.which("script"), "util-linux `script` (Debian: bsdutils, an essential package)"
    command = shlex.join([sys.executable, "-m", "textbatch.cli.main", *args])
    result = subprocess.run(  # bytes: text mode would turn the bar's \r into line ends
        ["script", "-qec", command, "/dev/null"],
        capture_output=True,
        cwd=cwd,
        env={**os.environ, "TERM": "xterm"},
        timeout=120,
    )
    shown = result.stdout.decode()
    assert result.returncode == 0, shown[-2000:]
    return shown


def test_a_local_predict_on_a_terminal_shows_a_bar_and_lines_not_json(new_file, tmp_path) -> None:
    store, csv = new_file
    shown = on_a_terminal("predict", "--model", str(store), "--input", str(csv), "-o", "out/",
                          cwd=tmp_path)  # fmt: skip
    assert '{"event"' not in shown
    assert "[####################] 100.0%" in shown  # the bar, redrawn in place
    assert "\r\x1b[2K[" in shown
    assert "done: 3000 rows, 0 rejected" in shown
    assert "review: " in shown
    assert (tmp_path / "out" / "new_output.csv").is_file()
    # asked for JSON on a terminal: the job's lines, as Batch writes them
    as_json = on_a_terminal("predict", "--model", str(store), "--input", str(csv), "-o", "o2/",
                            "--log-format", "json", cwd=tmp_path)  # fmt: skip
    events = [json.loads(line) for line in as_json.splitlines() if line.startswith("{")]
    assert events[0]["event"] == "start"
    assert events[-1]["event"] == "done"
    assert "[####" not in as_json


def test_a_local_train_on_a_terminal_shows_epochs_and_where_the_version_went(
    sample_train, tmp_path
) -> None:
    from tests.conftest import write_config

    config = write_config(tmp_path, num_epoch=2)
    shown = on_a_terminal("train", "--config", str(config), "--input", str(sample_train),
                          "-o", "models", cwd=tmp_path)  # fmt: skip
    assert '{"event"' not in shown
    assert "epoch 1: validation accuracy " in shown
    assert "promoted: the location's first version" in shown
    assert "published to models/models/" in shown
    assert "note: versions go to models/models/<version>/" in shown  # the first-time trip


def test_piped_a_job_writes_json_lines_only_on_stdout(new_file, tmp_path) -> None:
    """Not a terminal (Batch, a pipe, a test): JSON lines on stdout and nothing else."""
    store, csv = new_file
    piped = textbatch("predict", "--model", str(store), "--input", str(csv),
                      "-o", str(tmp_path / "out"))  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert all(json.loads(line)["job"] == "predict" for line in piped.stdout.splitlines())
    drawn = textbatch("predict", "--model", str(store), "--input", str(csv),
                      "-o", str(tmp_path / "out2"), "--log-format", "text")  # fmt: skip
    assert drawn.stdout == ""  # drawn for a person: on stderr, a line per progress event
    assert "done: 3000 rows" in drawn.stderr
    assert "\x1b[2K" not in drawn.stderr  # stderr is no terminal: no redrawing
    written = textbatch("sample-data", "--rows", "5", "-o", str(tmp_path / "s.csv"))
    assert written.stdout == ""  # what it did, on stderr
    assert "wrote 5 rows" in written.stderr
