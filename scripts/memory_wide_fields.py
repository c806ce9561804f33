"""Peak RSS of `textbatch predict` on files with huge fields, next to its input: the figures in
docs/large-files.md. Run: `.venv/bin/python scripts/memory_wide_fields.py [WORKDIR]`.

Two files: 400 short claims with one 50 MB text among them, and 100 rows of 16 columns with
one row whose 16 fields are 20 MB each (320 MB). A small nbsvm model (config/fast.json, bundled
claims). Each predict runs in its own process; the figure is the largest process's peak RSS (the
workers' are smaller: they get at most MODEL_CHARS characters of a text)."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

WORDS = ["the", "boiler", "leaked", "water", "under", "sink", "and", "oven", "caught", "fire",
         "near", "socket"]  # fmt: skip


def text(size: int, rng: random.Random) -> str:
    out, length = [], 0
    while length < size:
        word = rng.choice(WORDS)
        out.append(word)
        length += len(word) + 1
    return " ".join(out)[:size]


def write_files(work: Path) -> dict[str, Path]:
    rng = random.Random(0)
    one = work / "one_50mb_field.csv"
    with open(one, "w", encoding="utf-8") as f:
        f.write("id,text\n")
        for i in range(1, 401):
            f.write(f'{i},"{text(50_000_000 if i == 200 else 200, rng)}"\n')
    wide = work / "sixteen_20mb_fields.csv"
    big = text(20_000_000, rng)
    with open(wide, "w", encoding="utf-8") as f:
        f.write("id,text," + ",".join(f"c{j}" for j in range(14)) + "\n")
        for i in range(1, 101):
            if i == 50:
                f.write(f"{i}," + ",".join(f'"{big}"' for _ in range(15)) + "\n")
            else:
                f.write(f'{i},"{text(200, rng)}",' + ",".join("x" for _ in range(14)) + "\n")
    return {"one 50 MB field": one, "16 fields of 20 MB in one row": wide}


# Linux keeps a process's peak RSS across exec, and a child forked (or vforked) from this big
# process would start with this one's: a small launcher runs the command and reports its peak.
LAUNCHER = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def peak_rss_mib(args: list[str]) -> float:
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *args], check=True, capture_output=True, text=True
    )
    return int(done.stdout.split()[-1]) / 1024


def main() -> None:
    from textbatch.jobs.events import EventLog
    from textbatch.jobs.train import TrainRequest, run_train
    from textbatch.sample_data import BUNDLED_DIR

    work = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="tb-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    store = work / "store"
    run_train(
        TrainRequest(
            config="config/fast.json", data=str(BUNDLED_DIR / "warranty_train.csv"), out=str(store)
        ),
        log=EventLog(io.StringIO(), job="train"),
    )
    cli = [sys.executable, "-m", "textbatch.cli.main", "predict", "--model", str(store)]
    small = peak_rss_mib([*cli, "--input", str(BUNDLED_DIR / "warranty_predict.csv"),
                          "--output", str(work / "out-small")])  # fmt: skip
    rows = {"60 short claims (the process itself)": (0.0, small)}
    for name, path in write_files(work).items():
        rss = peak_rss_mib([*cli, "--input", str(path), "--output", str(work / "out")])
        rows[name] = (path.stat().st_size / 2**20, rss)
    print(json.dumps({k: {"input_mib": round(a, 1), "peak_rss_mib": round(b)}
                      for k, (a, b) in rows.items()}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
