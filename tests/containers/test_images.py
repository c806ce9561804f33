"""The Batch images as Batch runs them: `make images` builds them (CI installs podman and does),
these run the jobs inside them, as the non-root user, with a read-only root file system, a
scratch /tmp and no network, on files in a mounted directory, and compare with the same jobs
run on the host."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import write_config
from textbatch.jobs.events import EventLog
from textbatch.jobs.predict import PredictRequest, run_predict
from textbatch.jobs.train import TrainRequest, run_train
from textbatch.local import images
from textbatch.local.images import IMAGES
from textbatch.sample_data import BUNDLED_DIR


@pytest.fixture(scope="module")
def engine() -> list[str]:
    found = images.engine()
    if found is None:
        pytest.skip("no container engine (podman or docker) on this machine; CI installs podman")
    os.environ.setdefault("CONTAINERS_CONF", str(images.CONTAINERS_CONF))
    digest = images.source_digest()
    stale = [image for image in IMAGES.values() if images.built_from(found, image) != digest]
    if stale:
        message = f"images {stale} are missing or older than the code: run `make images`"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI builds them: not having them there is a failure
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Path:
    """A directory the container's user (uid 10001) can write, with a model and inputs."""
    root = tmp_path_factory.mktemp("box")
    root.chmod(0o777)
    config = write_config(root, architecture="nbsvm", ngram_buckets=1 << 16, n_classes=None)
    run_train(
        TrainRequest(
            config=str(config),
            data=str(BUNDLED_DIR / "warranty_train.csv"),
            out=str(root / "store"),
        ),
        log=EventLog(io.StringIO(), job="train"),
    )
    text = (BUNDLED_DIR / "warranty_predict.csv").read_text(encoding="utf-8")
    (root / "claims.csv").write_text(
        text + 'C99-1,"Quoted, ""odd""\nline",=SUM(A1) kettle sparks é\n', encoding="utf-8"
    )
    return root


def run_in(engine: list[str], kind: str, shared: Path, *args: str) -> subprocess.CompletedProcess:
    """One job in its image, as Batch runs it: its command after the entrypoint."""
    return subprocess.run(
        [
            *engine, "run", "--rm", "--read-only", "--tmpfs", "/tmp", "--network", "none",
            "--volume", f"{shared}:/data", IMAGES[kind], *args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip


def ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def test_the_cpu_image_predicts_what_the_host_predicts_as_a_non_root_user(engine, shared):
    run_predict(
        PredictRequest(
            model=str(shared / "store"), input=str(shared / "claims.csv"), output=str(shared / "h")
        ),
        log=EventLog(io.StringIO(), job="predict"),
    )
    done = ok(
        run_in(engine, "cpu", shared, "predict", "--model", "/data/store",
               "--input", "/data/claims.csv", "--output", "/data/c")
    )  # fmt: skip
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[-1]["event"] == "done"
    assert (shared / "c" / "claims_output.csv").read_bytes() == (
        shared / "h" / "claims_output.csv"
    ).read_bytes()
    assert (shared / "c" / "claims_output.csv").stat().st_uid == 10001
    # no torch in the CPU image: a fresh instance pulls only what split, merge and predict need
    probe = subprocess.run(
        [*engine, "run", "--rm", "--entrypoint", "python", IMAGES["cpu"], "-c", "import torch"],
        capture_output=True,
        text=True,
    )
    assert probe.returncode != 0
    assert "No module named 'torch'" in probe.stderr


def test_a_large_files_split_parts_and_merge_in_the_cpu_image_equal_one_job(engine, shared):
    ok(run_in(engine, "cpu", shared, "predict", "--model", "/data/store",
              "--input", "/data/claims.csv", "--output", "/data/one"))  # fmt: skip
    ok(run_in(engine, "cpu", shared, "split", "--input", "/data/claims.csv",
              "--parts", "/data/parts/", "--count", "3", "--output", "/data/split"))  # fmt: skip
    for index in range(3):
        ok(run_in(engine, "cpu", shared, "predict-part", "--model", "/data/store", "--parts",
                  "/data/parts/", "--output", "/data/split", "--index", str(index)))  # fmt: skip
    ok(run_in(engine, "cpu", shared, "merge", "--parts", "/data/parts/", "--output", "/data/split"))
    assert (shared / "split" / "claims_output.csv").read_bytes() == (
        shared / "one" / "claims_output.csv"
    ).read_bytes()
    assert not (shared / "parts").exists()  # the merge removed the parts


def test_the_gpu_image_trains_and_predicts_on_its_cpu_torch_build(engine, shared):
    """Built on the local base, the GPU image carries CPU torch: the same code path as on a GPU
    instance, minus CUDA (tests/unit/test_device.py covers CUDA on a GPU machine)."""
    config = write_config(shared, num_epoch=2)
    shutil.copy(BUNDLED_DIR / "warranty_train.csv", shared / "train.csv")
    started = time.monotonic()
    done = ok(
        run_in(engine, "gpu", shared, "train", "--config", f"/data/{config.name}",
               "--data", "/data/train.csv", "--out", "/data/gpu-store")
    )  # fmt: skip
    assert time.monotonic() - started < 300
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert events[-1]["event"] == "done"
    assert events[0]["device"] == "cpu"
    latest = json.loads((shared / "gpu-store" / "models" / "latest.json").read_text())
    ok(run_in(engine, "gpu", shared, "predict", "--model", "/data/gpu-store",
              "--input", "/data/claims.csv", "--output", "/data/g"))  # fmt: skip
    summary = json.loads((shared / "g" / "claims_output.json").read_text())
    assert (summary["model_version"], summary["rows_predicted"]) == (latest["version"], 61)


def test_the_cpu_image_is_a_fraction_of_the_gpu_image(engine):
    sizes = {
        kind: int(
            subprocess.run(
                [*engine, "image", "inspect", "--format", "{{.Size}}", image],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for kind, image in IMAGES.items()
    }
    assert sizes["cpu"] * 3 < sizes["gpu"], sizes


def test_training_in_the_cpu_image_says_what_it_lacks_in_one_line(engine, shared):
    done = run_in(engine, "cpu", shared, "train", "--config", "/data/config.json",
                  "--data", "/data/claims.csv", "--out", "/data/nowhere")  # fmt: skip
    assert done.returncode == 1
    assert "needs torch, which this installation lacks" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_gpu_image_runs_as_a_sagemaker_training_job(engine, tmp_path):
    """As SageMaker starts it: `<image> train`, /opt/ml mounted with the hyperparameters and
    the `training` channel, owned by root (SageMaker's mounts are: docs/deploying.md has the
    two-line `USER root` image for it); the version lands in /opt/ml/model, a failure's reason
    in /opt/ml/output/failure."""
    from tests.functional.test_sagemaker import HYPERPARAMETERS, sagemaker_root

    def train_in_image(root: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*engine, "run", "--rm", "--network", "none", "--user", "0",
             "--volume", f"{root}:/opt/ml", IMAGES["gpu"], "train"],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    paths = sagemaker_root(tmp_path / "ml", HYPERPARAMETERS, BUNDLED_DIR / "warranty_train.csv")
    done = ok(train_in_image(paths.root))
    assert json.loads(done.stdout.splitlines()[-1])["event"] == "done"
    latest = json.loads((paths.model / "models" / "latest.json").read_text())
    manifest = json.loads(
        (paths.model / "models" / latest["version"] / "manifest.json").read_text()
    )
    assert manifest["version"] == latest["version"]
    assert not paths.failure.exists()

    failing = sagemaker_root(tmp_path / "bad", {**HYPERPARAMETERS, "num_epoch": "many"},
                             BUNDLED_DIR / "warranty_train.csv")  # fmt: skip
    done = train_in_image(failing.root)
    assert done.returncode == 1
    assert "num_epoch" in failing.failure.read_text()


def test_a_local_cloud_that_stops_takes_its_job_containers_with_it(engine, tmp_path):
    """`local down` while jobs run: their containers (labelled with the cloud's directory) are
    killed and removed; another local cloud's are left alone."""
    from textbatch.local.runtime import OWNER_LABEL, Runtime

    def start(owner: str) -> str:
        return ok(subprocess.run(
            [*engine, "run", "--detach", "--label", f"{OWNER_LABEL}={owner}", "--entrypoint",
             "python", IMAGES["cpu"], "-c", "import time; time.sleep(120)"],
            capture_output=True, text=True,
        )).stdout.strip()  # fmt: skip

    mine, theirs = start(str(tmp_path / "mine")), start(str(tmp_path / "theirs"))
    runtime = Runtime(tuple(engine), "test")
    try:
        assert runtime.remove_owned(str(tmp_path / "mine")) == 1
        left = subprocess.run([*engine, "ps", "--all", "--quiet", "--no-trunc"],
                              capture_output=True, text=True).stdout.split()  # fmt: skip
        assert mine not in left
        assert theirs in left
    finally:
        runtime.remove_owned(str(tmp_path / "theirs"))
