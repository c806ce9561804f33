"""Every version's report.html: written beside its weights, checksummed with them, and what a
person sees when they open it in a browser (headless Chromium)."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import write_config
from textbatch.jobs.events import EventLog
from textbatch.jobs.train import TrainRequest, run_train

SHIPPED = Path(__file__).parents[2] / "config" / "fast.json"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def version(tmp_path_factory, sample_train) -> Path:
    store = tmp_path_factory.mktemp("report") / "store"
    config = write_config(store.parent, **{**json.loads(SHIPPED.read_text()), "num_epoch": 4})
    result = run_train(
        TrainRequest(config=str(config), data=str(sample_train), out=str(store),
                     group_column="customer"),
        log=EventLog(io.StringIO(), job="train"),
    )  # fmt: skip
    return store / "models" / result.version


def test_a_version_has_its_report_with_the_plots_and_metrics_gain_history_and_calibration(
    version,
) -> None:
    manifest = json.loads((version / "manifest.json").read_text())
    assert "report.html" in manifest["files"]  # checksummed like every other file
    text = (version / "report.html").read_text()
    plots = re.findall(r"<img alt='(\w+)' src='data:image/png;base64,", text)
    assert plots == ["confusion", "per_class", "calibration", "history"]
    assert "promoted</b>: the location&#x27;s first version" in text
    assert "group:customer" in text
    metrics = json.loads((version / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["history"]] == list(range(1, metrics["epochs_run"] + 1))
    assert 0 <= metrics["calibration"]["ece"] <= 1
    assert sum(b["rows"] for b in metrics["calibration"]["bins"]) == metrics["validation_rows"]


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (CI installs it: .ci/run)")
def test_the_report_opens_in_a_browser_and_shows_its_plots(version, tmp_path) -> None:
    from PIL import Image

    shot = tmp_path / "report.png"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--window-size=1300,2400", f"--screenshot={shot}", (version / "report.html").as_uri()],
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    image = Image.open(shot).convert("RGB")
    assert image.size == (1300, 2400)
    r, g, b = np.asarray(image).astype(int).transpose(2, 0, 1)
    # the confusion matrix's blues and the bars' orange and green: drawn, not broken images
    # (a copy whose images do not decode has none of them)
    blue = int(((b > 120) & (r < 80) & (g < 140)).sum())
    orange = int(((r > 200) & (g > 110) & (g < 150) & (b < 110)).sum())
    green = int(((g > 150) & (r < 110) & (b > 80) & (b < 130)).sum())
    assert blue > 5000
    assert orange > 2000
    assert green > 2000
