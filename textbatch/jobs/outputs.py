"""Where a predict job writes for an input: its output CSV, summary and error report.

No torch here: the operations commands compute the same places without loading a model."""

from __future__ import annotations

from dataclasses import dataclass

from textbatch.io.storage import basename, is_s3, join


@dataclass(frozen=True)
class OutputPlan:
    csv: str
    summary: str
    error: str

    @classmethod
    def for_request(cls, input_uri: str, output: str) -> OutputPlan:
        """A .csv output is used as given; anything else is a directory or prefix that gets
        `<input stem>_output.csv`, as the blog's test.csv gave test_output.csv."""
        if output.lower().endswith(".csv"):
            stem = output[:-4]
            return cls(csv=output, summary=f"{stem}.json", error=f"{stem}_error.json")
        name = basename(input_uri)
        stem = name[:-4] if name.lower().endswith(".csv") else name
        if is_s3(output) and output.count("/") == 2:  # s3://bucket: the bucket's root
            output += "/"
        return cls(
            csv=join(output, f"{stem}_output.csv"),
            summary=join(output, f"{stem}_output.json"),
            error=join(output, f"{stem}_error.json"),
        )
