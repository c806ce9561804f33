"""The parts of one large file: what the split job wrote, read by the array children and the
merge job. Stored as `plan.json` under the parts prefix."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from textbatch_contract import OutputPlan, parts_outputs

from textbatch.io.storage import Storage, join

PLAN = "plan.json"


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

    @property
    def outputs(self) -> str:
        return parts_outputs(self.prefix)

    def output_of(self, part: Part) -> OutputPlan:
        return OutputPlan.for_request(part.uri, self.outputs)

    def save(self, storage: Storage) -> None:
        data = {
            "input": self.input,
            "input_version": self.input_version,
            "prefix": self.prefix,
            "parts": [asdict(p) for p in self.parts],
        }
        storage.write_json(join(self.prefix, PLAN), data)

    @classmethod
    def load(cls, storage: Storage, prefix: str) -> PartsPlan:
        data = json.loads(storage.read_text(join(prefix, PLAN)))
        return cls(
            input=data["input"],
            prefix=data["prefix"],
            parts=[Part(**p) for p in data["parts"]],
            input_version=data.get("input_version"),
        )


def part_name(index: int) -> str:
    return f"part-{index:05d}.csv"
