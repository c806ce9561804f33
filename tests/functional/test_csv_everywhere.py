"""One CSV reader for every job: what one predict job reads, split -> parts -> merge reads too.

The jobs run as the Batch jobs do, each in a fresh process (the csv module's field limit is
process-wide, so a job that forgets it fails only there), and as hypothesis draws hostile files
(quotes, quoted newlines, a BOM, CRLF, unicode, fields over 1 MB, blank lines, ragged rows)
in-process, cut into every number of parts.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textbatch_contract.jobs import VCPUS_ENV

from tests.conftest import write_config
from textbatch.io.storage import Storage
from textbatch.jobs.events import EventLog
from textbatch.jobs.predict import PredictRequest, run_predict
from textbatch.jobs.train import TrainRequest, run_train
from textbatch.scale.merge import run_merge
from textbatch.scale.part import run_part
from textbatch.scale.split import run_split


@pytest.fixture(scope="module")
def fast_model(tmp_path_factory, sample_train) -> Path:
    root = tmp_path_factory.mktemp("nbsvm")
    config = write_config(root, architecture="nbsvm", ngram_buckets=1 << 16, n_classes=None)
    run_train(
        TrainRequest(config=str(config), data=str(sample_train), out=str(root / "store")),
        log=EventLog(io.StringIO(), job="train"),
    )
    return root / "store"


def job(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "textbatch.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_file_with_a_160k_field_splits_in_a_fresh_process_like_one_job(fast_model, tmp_path):
    """The 20 Newsgroups test split failed in the split job only: its reader kept the csv
    module's default field limit of 131,072 characters."""
    long_post = "quoted line\n" * 16_000
    rows = [
        f'{i},"{long_post if i == 40 else "Re: the boiler, again"}\nposted {i}"'
        for i in range(1, 121)
    ]
    source = tmp_path / "posts.csv"
    source.write_text("id,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert max(len(r) for r in rows) > 190_000
    job(
        "predict",
        "--model",
        str(fast_model),
        "--input",
        str(source),
        "--output",
        str(tmp_path / "one"),
    )
    parts, out = str(tmp_path / "parts") + "/", str(tmp_path / "split")
    job("split", "--input", str(source), "--parts", parts, "--count", "3", "--output", out)
    for index in range(3):
        job(
            "predict-part",
            "--model",
            str(fast_model),
            "--parts",
            parts,
            "--output",
            out,
            "--index",
            str(index),
        )
    job("merge", "--parts", parts, "--output", out)
    single = (tmp_path / "one" / "posts_output.csv").read_bytes()
    assert (tmp_path / "split" / "posts_output.csv").read_bytes() == single
    assert json.loads((tmp_path / "split" / "posts_output.json").read_text())["rows_in"] == 120


FIELD = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\r"), max_size=40),
    st.sampled_from(['say "hi", then', "two\nlines", "crlf\r\nline", "", "   ", "=SUM(A1)"]),
    st.integers(1_000_001, 1_100_000).map(lambda n: "x" * n),
)
ROW = st.lists(FIELD, min_size=1, max_size=3)  # longer rows refuse the file: tested apart


def render(rows: list[list[str]], *, bom: bool, crlf: bool, blanks: list[int]) -> bytes:
    from textbatch.io import csv_table

    buffer = io.StringIO(newline="")
    writer = csv_table.writer(buffer)
    writer.writerow(["id", "text", "note"])
    for i, row in enumerate(rows):
        if i in blanks:
            buffer.write("\r\n")
        writer.writerow(row)
    text = buffer.getvalue() if crlf else buffer.getvalue().replace("\r\n", "\n")
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    rows=st.lists(ROW, min_size=1, max_size=12),
    bom=st.booleans(),
    crlf=st.booleans(),
    blanks=st.lists(st.integers(0, 11), max_size=3),
)
def test_split_parts_merge_equal_one_job_for_hostile_files(
    fast_model, tmp_path_factory, rows, bom, crlf, blanks
):
    tmp = tmp_path_factory.mktemp("csv")
    source = tmp / "hostile.csv"
    source.write_bytes(render(rows, bom=bom, crlf=crlf, blanks=blanks))
    storage, log = Storage(), EventLog(io.StringIO(), job="test")
    # one vCPU: no worker pool forked per call (the files are a few rows; the pool's own
    # order is tested apart), which made this test the slowest of the suite
    with mock.patch.dict(os.environ, {VCPUS_ENV: "1"}):
        _hostile_round_trip(fast_model, tmp, source, storage, log, rows)


def _hostile_round_trip(fast_model, tmp, source, storage, log, rows) -> None:
    single = run_predict(
        PredictRequest(model=str(fast_model), input=str(source), output=str(tmp / "one")),
        storage=storage,
        log=log,
    )
    expected = (tmp / "one" / "hostile_output.csv").read_bytes()
    for count in range(1, min(len(rows), 5) + 1):
        prefix, out = str(tmp / f"parts{count}") + "/", str(tmp / f"split{count}")
        run_split(str(source), prefix, count, output=out, storage=storage, log=log)
        for index in range(count):
            run_part(str(fast_model), prefix, out, index, storage=storage, log=log)
        merged = run_merge(prefix, out, storage=storage, log=log)
        assert (tmp / f"split{count}" / "hostile_output.csv").read_bytes() == expected, count
        assert merged["rejected"] == single.rejected
        assert merged["rows_in"] == single.rows_in


def test_a_row_with_extra_fields_refuses_the_file_in_one_job_and_in_parts(fast_model, tmp_path):
    from textbatch.errors import InputError

    rows = [f"{i},claim {i} about the boiler" for i in range(1, 61)]
    rows[44] = '45,"the boiler, again",an extra field'
    source = tmp_path / "extra.csv"
    source.write_text("id,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    storage, log = Storage(), EventLog(io.StringIO(), job="test")
    with pytest.raises(InputError, match=r"row 45 \(line 46\) has 3 fields"):
        run_predict(
            PredictRequest(model=str(fast_model), input=str(source), output=str(tmp_path / "one")),
            storage=storage,
            log=log,
        )
    prefix, out = str(tmp_path / "parts") + "/", str(tmp_path / "split")
    plan = run_split(str(source), prefix, 3, output=out, storage=storage, log=log)
    for part in plan.parts:
        if part.row_offset < 45 <= part.row_offset + part.rows:
            with pytest.raises(InputError, match="has 3 fields"):
                run_part(str(fast_model), prefix, out, part.index, storage=storage, log=log)
        else:
            run_part(str(fast_model), prefix, out, part.index, storage=storage, log=log)
    with pytest.raises(InputError, match="have no output"):
        run_merge(prefix, out, storage=storage, log=log)
    report = json.loads((tmp_path / "split" / "extra_error.json").read_text())
    [failed] = report["parts"]
    assert report["error"] == "PartsFailed"
    assert "has 3 fields" in failed["message"]
    assert not (tmp_path / "split" / "extra_output.csv").exists()
