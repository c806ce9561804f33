"""`textbatch demo` as a new user runs it: its own local cloud (its own state directory, the
embedded moto server on a free port: no LocalStack, so it runs beside the end-to-end suite)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_demo_with_the_cpu_config_follows_its_job_to_the_cpu_queue(tmp_path) -> None:
    """`textbatch demo --config config/fast.json`: its own local cloud (own home, embedded moto
    on a free port), an nbsvm model, the job on the CPU queue the manifest asks for."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TEXTBATCH_"))}
    env["TEXTBATCH_LOCAL_HOME"] = str(tmp_path / "home")
    demo = subprocess.run(
        [sys.executable, "-m", "textbatch.cli.main", "demo", "--config", "config/fast.json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert "1. training: a Batch train job on textbatch-local-cpu" in demo.stdout
    assert (
        "on textbatch-local-cpu: the CPU queue, the one the model's manifest asks for "
        "(wants_gpu: false)" in demo.stdout
    )
    assert '{"event"' not in demo.stdout  # the job's log lines are drawn for a person
    assert " done rows_in=60 " in demo.stdout
    if os.environ.get("CI"):  # CI built the images: the predict job ran in the CPU image
        assert "jobs run as containers (" in demo.stdout
    assert "summary: 60 rows in, 60 predicted, 0 rejected" in demo.stdout
    assert "local cloud stopped" in demo.stdout
