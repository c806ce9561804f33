"""The array children's job (`predict-part`): one part of a large file, predicted like a file.

A child predicts its part into the parts prefix, where the merge job finds it. A child that
fails for good writes the file's error report too, naming every failed part so far; no output
appears.
"""

from __future__ import annotations

from textbatch_contract.parts import PartsPlan

from textbatch.errors import InputError, TextbatchError
from textbatch.io.storage import Storage
from textbatch.jobs.events import EventLog
from textbatch.scale.merge import write_failure_report


def run_part(
    model: str, prefix: str, output: str, index: int, *, storage: Storage, log: EventLog
) -> None:
    from textbatch.jobs.predict import PredictRequest, run_predict

    plan = PartsPlan.load(storage, prefix)
    if not 0 <= index < len(plan.parts):
        raise InputError(f"part {index} does not exist: {prefix} has {len(plan.parts)} parts")
    part = plan.parts[index]
    log.emit("part_start", index=index, of=len(plan.parts), input=plan.input)
    try:
        run_predict(
            PredictRequest(
                model=model,
                input=part.uri,
                output=plan.outputs,
                part=True,
                compare_column=plan.compare_column,
                row_offset=part.row_offset,
            ),
            storage=storage,
            log=log,
        )
    except TextbatchError:
        write_failure_report(plan, output, storage, log)
        raise
