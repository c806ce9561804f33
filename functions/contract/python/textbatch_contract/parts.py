"""A large file's parts: the plan the split job writes (`plan.json` under the parts prefix),
which the array children, the merge job, the failure reporter and `textbatch status` read, and
the file's `PartsFailed` report, which a failing child and the failure reporter both write."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from textbatch_contract.outputs import OutputPlan, parts_outputs
from textbatch_contract.paths import join

PLAN = "plan.json"
PARTS_FAILED = "PartsFailed"  # the `error` of a file's report when some of its parts failed


@dataclass(frozen=True)
class Part:
    index: int
    uri: str  # the part's CSV: the input's header, then its records [start, end)
    start: int  # byte offsets of the records in the input (after the header)
    end: int
    row_offset: int  # data rows before this part: a part's row r is the input's row r + offset
    line_offset: int  # the same for file lines
    rows: int  # data rows in this part


@dataclass(frozen=True)
class PartsPlan:
    input: str
    prefix: str  # where the parts, their outputs and this plan live; removed after the merge
    parts: list[Part]
    input_version: str | None = None  # the revision the split read (the parts are its copies)
    # the file's compare column, as the split job found it (textbatch_contract.review)
    compare_column: str | None = None

    @property
    def outputs(self) -> str:
        return parts_outputs(self.prefix)

    def output_of(self, part: Part) -> OutputPlan:
        """Where the part's predict job writes its results and its own error report."""
        return OutputPlan.for_request(part.uri, self.outputs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "input_version": self.input_version,
            "compare_column": self.compare_column,
            "prefix": self.prefix,
            "parts": [asdict(p) for p in self.parts],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PartsPlan:
        return cls(
            input=data["input"],
            prefix=data["prefix"],
            parts=[Part(**p) for p in data["parts"]],
            input_version=data.get("input_version"),
            compare_column=data.get("compare_column"),
        )

    def save(self, storage: Any) -> None:
        """Through anything with `write_json(uri, data)` (textbatch.io.storage.Storage)."""
        storage.write_json(plan_uri(self.prefix), self.to_dict())

    @classmethod
    def load(cls, storage: Any, prefix: str) -> PartsPlan:
        """Through anything with `read_text(uri)` (textbatch.io.storage.Storage)."""
        return cls.from_dict(json.loads(storage.read_text(plan_uri(prefix))))


def plan_uri(prefix: str) -> str:
    return join(prefix, PLAN)


def part_name(index: int) -> str:
    return f"part-{index:05d}.csv"


def parts_failed_report(plan: PartsPlan, failed: list[tuple[Part, dict[str, Any]]]) -> dict:
    """The file's report over every failed part and that part's own error report."""
    return {
        "error": PARTS_FAILED,
        "message": f"{len(failed)} of {len(plan.parts)} parts of {plan.input} failed; "
        "no output was written",
        "input": plan.input,
        "input_version": plan.input_version,
        "parts": [
            {
                "index": part.index,
                "bytes": [part.start, part.end],
                "first_row": part.row_offset + 1,
                "message": report.get("message"),
                "hint": report.get("hint"),
                "note": "row and line numbers in the message count from the part's first row",
            }
            for part, report in failed
        ],
        "hint": "fix the rows named below and upload the file again; a part that AWS Batch "
        "stopped says what to change in its hint",
    }
