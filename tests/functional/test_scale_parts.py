"""split -> predict-part -> merge on local files, against one predict job on the same file."""

from __future__ import annotations

import io
import json
from pathlib import Path

from textbatch_contract.parts import Part, PartsPlan, part_name

from textbatch.io.storage import Storage
from textbatch.jobs import routing
from textbatch.jobs.events import EventLog
from textbatch.jobs.predict import PredictRequest, run_predict
from textbatch.model import shift
from textbatch.scale.merge import run_merge
from textbatch.scale.part import run_part
from textbatch.scale.split import run_split


def awkward_file(path: Path) -> Path:
    """Blank lines before the header, quoted newlines and rejected rows in every part."""
    rows = []
    for i in range(1, 301):
        if i % 37 == 0:
            rows.append(f'{i},"   "\n')  # empty text: rejected
        elif i % 53 == 0:
            rows.append(f"{i}\n")  # too few fields: rejected
        else:
            rows.append(f'{i},"The oven door cracked\nafter {i} days, then sparks"\n')
    path.write_text("\n\nid,text\n" + "".join(rows), encoding="utf-8")
    return path


def test_the_merged_output_and_summary_equal_the_single_job(trained, tmp_path) -> None:
    model, _ = trained
    source = awkward_file(tmp_path / "claims.csv")
    storage, log = Storage(), EventLog(io.StringIO(), job="test")
    single = run_predict(
        PredictRequest(model=str(model), input=str(source), output=str(tmp_path / "single")),
        storage=storage,
        log=log,
    )
    assert single.rows_rejected == 13  # the check below compares something

    prefix, output = str(tmp_path / "parts") + "/", str(tmp_path / "merged")
    plan = run_split(str(source), prefix, 4, output=output, storage=storage, log=log)
    assert len(plan.parts) == 4
    assert sum(p.rows for p in plan.parts) == 300
    for part in plan.parts:
        run_part(str(model), prefix, output, part.index, storage=storage, log=log)
    merged = run_merge(prefix, output, storage=storage, log=log)

    single_csv = (tmp_path / "single" / "claims_output.csv").read_bytes()
    assert (tmp_path / "merged" / "claims_output.csv").read_bytes() == single_csv
    assert merged["rejected"] == single.rejected  # rows and lines count from the file's top
    assert merged["rows_in"] == single.rows_in == 300
    written = json.loads((tmp_path / "merged" / "claims_output.json").read_text())
    assert written["rejected"][0] == {"row": 37, "line": 76, "reason": "empty text"}


def test_parts_of_5_mib_and_more_are_merged_by_upload_part_copy(s3, bucket, storage) -> None:
    """No byte passes through the merge job: S3 copies ranges of the parts' outputs."""
    prefix = f"s3://{bucket}/_parts/tb-big/"
    header = b"id,text,prediction\n"
    rows = [56_000, 56_000, 1_000]  # the last piece may be under 5 MiB
    parts = [
        Part(i, f"{prefix}{part_name(i)}", 0, 0, sum(rows[:i]), 0, count)
        for i, count in enumerate(rows)
    ]
    plan = PartsPlan(input="s3://in/big.csv", prefix=prefix, parts=parts)
    plan.save(storage)
    bodies = []
    for part in parts:
        body = header + b"".join(
            f"{part.index}-{n},the oven door cracked after {n} days and the hinge, the glass "
            f"and the seal failed too,{n % 5}\n".encode()
            for n in range(part.rows)
        )
        counts = {**shift.new_counts(), "rows": part.rows}
        summary = {
            "model_version": "v1", "text_column": "text", "rows_in": part.rows,
            "rows_out": part.rows, "rows_predicted": part.rows, "rows_rejected": 0,
            "rejected": [], "predictions": {"0": part.rows},
            "review": routing.review_block(
                accepted=part.rows, by_reason={},
                compare={"compare_column": None, "rows_compared": 0, "compare_unknown_labels": []},
                file="", target=0.99, validated=0.995,
            ),
            "shift": shift.assess(counts, {"0": part.rows}, None),
        }  # fmt: skip
        storage.write_bytes(plan.output_of(part).review, b"row,review_reason\r\n")
        storage.write_bytes(plan.output_of(part).csv, body)
        storage.write_bytes(plan.output_of(part).summary, json.dumps(summary).encode())
        bodies.append(body)
    assert all(len(b) - len(header) >= 5 * 1024 * 1024 for b in bodies[:2])
    events = io.StringIO()
    summary = run_merge(
        prefix, f"s3://{bucket}/out/", storage=storage, log=EventLog(events, job="merge")
    )
    done = json.loads(events.getvalue().splitlines()[-1])
    assert done["method"] == "upload-part-copy"
    merged = storage.read_bytes(f"s3://{bucket}/out/big_output.csv")
    assert merged == bodies[0] + b"".join(b[len(header) :] for b in bodies[1:])
    assert summary["rows_in"] == sum(rows)
    assert summary["review"]["rows_auto_accepted"] == sum(rows)
    assert storage.read_bytes(f"s3://{bucket}/out/big_review.csv") == b"row,review_reason\r\n"
    assert storage.list(prefix) == []
