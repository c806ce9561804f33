"""Review routing, the why column and the shift warning, through the real predict, split, part
and merge jobs on local files (and an S3 upload's metadata on the moto server)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from textbatch.errors import InputError
from textbatch.io.storage import Storage
from textbatch.jobs.events import EventLog
from textbatch.jobs.predict import PredictRequest, run_predict
from textbatch.jobs.train import TrainRequest, run_train
from textbatch.sample_data import generate, with_submitted, write_csv
from textbatch.scale.merge import run_merge
from textbatch.scale.part import run_part
from textbatch.scale.split import run_split

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fast_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped CPU config, trained on 600 synthetic claims (500 for training, grouped by
    customer would leave too few; a stratified split)."""
    root = tmp_path_factory.mktemp("fast")
    data = root / "train.csv"
    write_csv(data, generate(600, seed=11))
    run_train(
        TrainRequest(config=str(REPO / "config/fast.json"), data=str(data), out=str(root / "m")),
        log=EventLog(io.StringIO(), job="train"),
    )
    return root / "m"


def claims(path: Path, rows: int = 300, *, seed: int = 5, slips: float = 0.1) -> Path:
    """Claims with the submitter's category, wrong in `slips` of the rows, plus an unknown
    category and empty values among them, and texts that are hard to tell apart."""
    data = with_submitted(generate(rows, seed=seed), slips, seed=seed)
    for i, row in enumerate(data):
        if i % 41 == 7:
            row["submitted"] = "glass breakage"  # a category the model does not know
        elif i % 43 == 11:
            row["submitted"] = "  "
        if i % 9 == 4:  # two categories' words in one claim: the model is unsure
            other = data[(i + 1) % len(data)]["text"]
            row["text"] = row["text"].split(".")[0] + ". " + other.split(".")[0] + "."
    write_csv(path, data, labelled=False, submitted=True)
    return path


def predict(model: Path, source: Path, out: Path, **options) -> dict:
    log = io.StringIO()
    run_predict(
        PredictRequest(model=str(model), input=str(source), output=str(out), **options),
        storage=Storage(),
        log=EventLog(log, job="predict"),
    )
    stem = source.name.removesuffix(".csv")
    summary = json.loads((out / f"{stem}_output.json").read_text())
    summary["_log"] = [json.loads(line) for line in log.getvalue().splitlines()]
    return summary


def rows_of(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_rows_are_routed_and_the_review_file_holds_them_most_useful_first(
    fast_model, tmp_path
) -> None:
    source = claims(tmp_path / "claims.csv")
    summary = predict(fast_model, source, tmp_path / "out", compare_column="submitted")
    output = rows_of(tmp_path / "out" / "claims_output.csv")
    review = rows_of(tmp_path / "out" / "claims_review.csv")
    block = summary["review"]

    to_review = [r for r in output if r["review"] == "yes"]
    assert {r["review_reason"] for r in to_review} <= {"low_confidence", "disagrees"}
    assert all(r["review_reason"] == "" for r in output if r["review"] == "no")
    assert block["rows_to_review"] == len(to_review) == len(review)
    assert block["rows_auto_accepted"] + block["rows_to_review"] == len(output)
    assert block["by_reason"]["disagrees"] > 0
    assert block["by_reason"]["low_confidence"] > 0
    assert block["target_precision"] == 0.99

    # a disagreement is a confident prediction against a non-empty submitted category
    for r in output:
        submitted = r["submitted"].strip()
        if r["review_reason"] == "disagrees":
            assert submitted
            assert submitted != r["prediction"]
        if r["review"] == "no" and submitted:
            assert submitted == r["prediction"]
    # the unknown category is listed, its confident rows disagree; empty values compare nothing
    assert block["compare_unknown_labels"] == ["glass breakage"]
    assert block["rows_compared"] == sum(1 for r in output if r["submitted"].strip())
    assert all(r["review"] == "yes" for r in output if r["submitted"] == "glass breakage")

    # every input column is kept; the row number finds the row in the output
    assert list(review[0])[:5] == ["row", "review_reason", "prediction", "confidence", "why"]
    for r in review:
        original = output[int(r["row"]) - 1]
        assert original["claim_id"] == r["claim_id"]
        assert original["text"] == r["text"]
        assert original["review_reason"] == r["review_reason"]
    # disagreements first, most confident first; then the least confident first
    reasons = [r["review_reason"] for r in review]
    assert reasons == sorted(reasons, key=lambda x: x != "disagrees")
    disagree = [float(r["confidence"]) for r in review if r["review_reason"] == "disagrees"]
    unsure = [float(r["confidence"]) for r in review if r["review_reason"] == "low_confidence"]
    assert disagree == sorted(disagree, reverse=True)
    assert unsure == sorted(unsure)

    line = next(e for e in summary["_log"] if e["event"] == "review")
    assert line["rows_to_review"] == block["rows_to_review"]


def test_without_a_compare_column_only_low_confidence_is_reviewed(fast_model, tmp_path) -> None:
    source = claims(tmp_path / "claims.csv")
    summary = predict(fast_model, source, tmp_path / "out")
    block = summary["review"]
    assert block["compare_column"] is None
    assert block["rows_compared"] == 0
    assert block["by_reason"]["disagrees"] == 0
    assert block["rows_to_review"] == block["by_reason"]["low_confidence"] > 0


def test_why_names_ngrams_of_the_row_and_can_be_left_out(fast_model, tmp_path) -> None:
    source = claims(tmp_path / "claims.csv", slips=0.0)
    predict(fast_model, source, tmp_path / "out")
    output = rows_of(tmp_path / "out" / "claims_output.csv")
    for r in output:
        terms = r["why"].split(" | ")
        assert 1 <= len(terms) <= 3
        assert all(term in r["text"].lower() for term in terms), (terms, r["text"])
    predict(fast_model, source, tmp_path / "plain", why=False)
    plain = rows_of(tmp_path / "plain" / "claims_output.csv")
    assert "why" not in plain[0]
    assert [r["prediction"] for r in plain] == [r["prediction"] for r in output]


def test_a_compare_column_the_file_lacks(fast_model, tmp_path, monkeypatch) -> None:
    source = claims(tmp_path / "claims.csv")
    with pytest.raises(InputError, match=r"no column 'category' to compare .*--compare-column"):
        predict(fast_model, source, tmp_path / "out", compare_column="category")
    # the stage's setting applies to the files that have the column, and is ignored elsewhere
    monkeypatch.setenv("TEXTBATCH_COMPARE_COLUMN", "category")
    assert predict(fast_model, source, tmp_path / "a")["review"]["compare_column"] is None
    monkeypatch.setenv("TEXTBATCH_COMPARE_COLUMN", "submitted")
    assert predict(fast_model, source, tmp_path / "b")["review"]["compare_column"] == "submitted"


def test_the_split_path_writes_the_same_bytes_as_one_job(fast_model, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TEXTBATCH_COMPARE_COLUMN", "submitted")
    source = claims(tmp_path / "claims.csv", rows=400)
    storage, log = Storage(), EventLog(io.StringIO(), job="test")
    single = predict(fast_model, source, tmp_path / "single")
    assert single["review"]["by_reason"]["disagrees"] > 0  # the comparison below compares some

    prefix, output = str(tmp_path / "parts") + "/", str(tmp_path / "merged")
    plan = run_split(str(source), prefix, 3, output=output, storage=storage, log=log)
    assert plan.compare_column == "submitted"
    for part in plan.parts:
        run_part(str(fast_model), prefix, output, part.index, storage=storage, log=log)
    merged = run_merge(prefix, output, storage=storage, log=log)
    assert merged is not None
    for name in ("claims_output.csv", "claims_review.csv"):
        assert (tmp_path / "merged" / name).read_bytes() == (
            tmp_path / "single" / name
        ).read_bytes()
    for block in ("review", "shift"):
        single[block].pop("file", None), merged[block].pop("file", None)
        assert json.dumps(merged[block]) == json.dumps(single[block])


def test_the_upload_metadata_names_the_compare_column(fast_model, tmp_path, s3, bucket) -> None:
    source = claims(tmp_path / "claims.csv")
    s3.upload_file(
        str(source),
        bucket,
        "in/claims.csv",
        ExtraArgs={"Metadata": {"compare-column": "submitted"}},
    )

    def predict_upload(key: str) -> None:
        run_predict(
            PredictRequest(
                model=str(fast_model), input=f"s3://{bucket}/{key}", output=f"s3://{bucket}/out/"
            ),
            storage=Storage(s3),
            log=EventLog(io.StringIO(), job="predict"),
        )

    predict_upload("in/claims.csv")
    body = s3.get_object(Bucket=bucket, Key="out/claims_output.json")["Body"].read()
    assert json.loads(body)["review"]["compare_column"] == "submitted"
    s3.upload_file(
        str(source), bucket, "in/other.csv", ExtraArgs={"Metadata": {"compare-column": "nope"}}
    )
    with pytest.raises(InputError, match="the upload's metadata compare-column"):
        predict_upload("in/other.csv")


def test_the_version_keeps_its_thresholds_and_shift_baseline(fast_model) -> None:
    (version,) = (fast_model / "models").glob("2*")
    manifest = json.loads((version / "manifest.json").read_text())
    metrics = json.loads((version / "metrics.json").read_text())
    assert manifest["review"] == metrics["review"]
    assert manifest["review"]["target_precision"] == 0.99
    assert set(manifest["review"]["per_class"]) == {
        "cosmetic", "electrical", "fire", "mechanical", "water_damage"
    }  # fmt: skip
    assert manifest["shift"] == metrics["shift"]
    assert 0 <= manifest["shift"]["unseen_ngrams"] < 0.5
    assert "review threshold" in (version / "report.html").read_text()


def test_a_file_unlike_the_training_data_reads_high(fast_model, tmp_path) -> None:
    """Claims for the model against texts of another kind (the shared-set check is in the
    benchmarks: docs/operations.md)."""
    same = claims(tmp_path / "same.csv", slips=0.0)
    assert predict(fast_model, same, tmp_path / "s")["shift"]["level"] == "low"
    other = tmp_path / "other.csv"
    words = [
        "quantum",
        "orbit",
        "telescope",
        "galaxy",
        "nebula",
        "photon",
        "spectrum",
        "comet",
        "gravity",
        "lens",
    ]
    with open(other, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text"])
        for i in range(200):
            writer.writerow([i, " ".join(words[(i + j) % len(words)] for j in range(30))])
    found = predict(fast_model, other, tmp_path / "o")
    assert found["shift"]["level"] == "high"
    assert "unseen_ngrams" in found["shift"]["over_threshold"]
    shift_line = next(e for e in found["_log"] if e["event"] == "shift")
    assert shift_line["level"] == "high"


def test_nb_linear_names_words_and_word_pairs_and_a_network_counts_unknown_words(
    tmp_path,
) -> None:
    from tests.conftest import write_config

    data = tmp_path / "train.csv"
    write_csv(data, generate(400, seed=3))
    source = claims(tmp_path / "claims.csv", rows=120, slips=0.0)
    for architecture, explains in (("nb_linear", True), ("cnn", False)):
        model = tmp_path / architecture
        config = write_config(
            tmp_path, architecture=architecture, ngram_buckets=512, tokenizer="fast"
        )
        run_train(
            TrainRequest(config=str(config), data=str(data), out=str(model)),
            log=EventLog(io.StringIO(), job="train"),
        )
        summary = predict(model, source, tmp_path / f"out-{architecture}")
        output = rows_of(tmp_path / f"out-{architecture}" / "claims_output.csv")
        assert ("why" in output[0]) == explains
        for r in output if explains else []:
            words = set(re.findall(r"\w+|[^\w\s]", r["text"].lower())) | {"<unk>"}
            terms = r["why"].split(" | ")
            assert 1 <= len(terms) <= 3
            assert all(set(term.split()) <= words for term in terms), (terms, r["text"])
        assert summary["shift"]["counts"]["ngrams"] > 0  # tokens, for the vocabulary families
        assert summary["shift"]["signals"]["unseen_ngrams"] is not None
