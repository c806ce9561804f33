"""Where a file's results go: the predict and merge jobs write there, the failure reporter and
the operations commands read there. One definition, so that they cannot drift apart."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from textbatch_contract.paths import basename, is_s3, join

CSV_SUFFIX = ".csv"
PARTS_OUTPUTS = "out/"  # under a large file's parts prefix: each part's results
ERROR_SUFFIX = "_error.json"  # a file's error report: `<stem>_error.json`
CLUSTERS_SUFFIX = "_clusters.json"  # the cluster job's clusters: sizes, terms, examples
REVIEW_SUFFIX = "_review.csv"  # the predict job's rows for a person (textbatch_contract.review)
LONGEST_SUFFIX = CLUSTERS_SUFFIX
MAX_KEY_BYTES = 1024  # S3's limit on a key
MAX_NAME_BYTES = 255  # a file name's limit on local file systems


@dataclass(frozen=True)
class OutputPlan:
    csv: str
    summary: str  # written last by a job that succeeded
    error: str
    clusters: str  # the cluster job's description of its clusters (before the summary)
    review: str  # the predict job's rows to review (before the summary)

    def outcome(self) -> list[str]:
        """Every object that tells a revision's outcome: written for the newest revision only
        (textbatch_contract.revisions)."""
        return [self.csv, self.summary, self.error, self.clusters, self.review]

    @classmethod
    def for_request(cls, input_uri: str, output: str) -> OutputPlan:
        """A .csv output is used as given; anything else is a directory or prefix that gets
        `<input stem>_output.csv`, as the blog's test.csv gave test_output.csv (the stem: the
        name without `.csv`; a name ending in `.CSV` or another case is its own stem)."""
        if output.lower().endswith(".csv"):
            stem = output[:-4]
            return cls(
                csv=output,
                summary=f"{stem}.json",
                error=f"{stem}{ERROR_SUFFIX}",
                clusters=f"{stem}{CLUSTERS_SUFFIX}",
                review=f"{stem}{REVIEW_SUFFIX}",
            )
        name = basename(input_uri)
        # only `.csv` itself is dropped: `x.CSV` keeps its suffix, so that it and `x.csv` (two
        # keys to S3) get results of their own, `x.CSV_output.csv` beside `x_output.csv`
        stem = name[: -len(CSV_SUFFIX)] if name.endswith(CSV_SUFFIX) else name
        if is_s3(output) and output.count("/") == 2:  # s3://bucket: the bucket's root
            output += "/"
        stem = fitting_stem(stem, output, input_uri)
        return cls(
            csv=join(output, f"{stem}_output.csv"),
            summary=join(output, f"{stem}_output.json"),
            error=join(output, f"{stem}{ERROR_SUFFIX}"),
            clusters=join(output, f"{stem}{CLUSTERS_SUFFIX}"),
            review=join(output, f"{stem}{REVIEW_SUFFIX}"),
        )


def fitting_stem(stem: str, output: str, input_uri: str) -> str:
    """`stem` when `<output><stem>_output.json` fits S3's key limit (or, locally, the file
    name limit); else as much of it as fits, then `~` and a hash of the whole input URI, so
    that two long keys that differ only at their end still get distinct results."""
    if is_s3(output):
        key = output[5:].partition("/")[2]
        budget = MAX_KEY_BYTES - len(key.encode()) - len(LONGEST_SUFFIX)
    else:
        budget = MAX_NAME_BYTES - len(LONGEST_SUFFIX)
    if len(stem.encode()) <= budget:
        return stem
    digest = "~" + hashlib.sha256(input_uri.encode()).hexdigest()[:16]
    kept = stem.encode()[: max(0, budget - len(digest))].decode("utf-8", errors="ignore")
    return kept + digest


def results_prefix(results_location: str, key: str) -> str:
    """Where an uploaded key's results go: its folders repeated under the results location,
    so that a/x.csv and b/x.csv do not clash."""
    folder = key.rsplit("/", 1)[0] if "/" in key else ""
    base = results_location.rstrip("/") + "/"
    return base + (folder + "/" if folder else "")


def parts_outputs(prefix: str) -> str:
    """Where the predict-part children of a large file write, under its parts prefix."""
    return join(prefix, PARTS_OUTPUTS)
