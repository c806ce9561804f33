"""Real training on the bundled claims and real prediction, on local files."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import write_config
from textbatch.cloud.training import describe_training_line
from textbatch.errors import ArtifactError, ConfigError, InputError
from textbatch.families import classifier_for, predict_texts
from textbatch.io.storage import Storage
from textbatch.jobs.events import EventLog
from textbatch.jobs.predict import PredictRequest, run_predict
from textbatch.jobs.train import TrainRequest, run_train
from textbatch.model.artifacts import open_model, resolve_version


def read_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def predict(model: Path, input_path: Path, output: Path, **kw) -> tuple:
    log = io.StringIO()
    summary = run_predict(
        PredictRequest(model=str(model), input=str(input_path), output=str(output), **kw),
        log=EventLog(log, job="predict"),
    )
    return summary, [json.loads(line) for line in log.getvalue().splitlines()]


def test_training_learns_the_sample_data_well_above_chance(trained) -> None:
    _, result = trained
    validation = result.metrics["validation"]
    assert validation["accuracy"] >= 0.8  # five classes: chance is 0.2
    assert set(validation["per_class"]) == {
        "cosmetic", "electrical", "fire", "mechanical", "water_damage"
    }  # fmt: skip
    assert sum(map(sum, validation["confusion_matrix"]["rows_true_columns_predicted"])) == 100


def test_version_directory_is_complete_and_checksummed(trained) -> None:
    store, result = trained
    version_dir = Path(resolve_version(str(store), Storage()))
    manifest = json.loads((version_dir / "manifest.json").read_text())
    assert manifest["version"] == result.version
    assert set(manifest["files"]) == {
        "model.params", "network.json", "transformer.json", "config.json", "labels.json",
        "metrics.json", "report.html",
    }  # fmt: skip
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((version_dir / name).read_bytes()).hexdigest() == digest
    latest = json.loads((store / "models" / "latest.json").read_text())
    assert latest["version"] == result.version


def test_training_logs_json_lines_per_interval_and_per_validation(tmp_path, sample_train) -> None:
    log = io.StringIO()
    run_train(
        TrainRequest(
            config=str(write_config(tmp_path, num_epoch=2, train_log_interval=3)),
            data=str(sample_train),
            out=str(tmp_path / "out"),
        ),
        log=EventLog(log, job="train"),
    )
    events = [json.loads(line) for line in log.getvalue().splitlines()]
    batches = [e for e in events if e["event"] == "train"]
    validations = [e for e in events if e["event"] == "validation"]
    # 400 training rows / 32 = 13 batches per epoch -> batches 3, 6, 9, 12 are logged
    assert [(e["epoch"], e["batch"]) for e in batches[:4]] == [(1, 3), (1, 6), (1, 9), (1, 12)]
    assert {"loss", "accuracy", "lr", "rows_per_s"} <= set(batches[0])
    assert [e["epoch"] for e in validations] == [1, 2]
    assert events[-1]["event"] == "done"
    assert next(e for e in events if e["event"] == "embeddings")["source"] == "random"


def test_training_is_repeatable_on_cpu(tmp_path, sample_train) -> None:
    versions = []
    for run in ("a", "b"):
        result = run_train(
            TrainRequest(
                config=str(write_config(tmp_path, num_epoch=2)),
                data=str(sample_train),
                out=str(tmp_path / run),
            ),
            log=EventLog(io.StringIO(), job="train"),
        )
        versions.append(
            json.loads((tmp_path / run / "models" / result.version / "manifest.json").read_text())
        )
    assert versions[0]["files"]["model.params"] == versions[1]["files"]["model.params"]


def test_lstm_trains_and_predicts(tmp_path, sample_train, sample_predict) -> None:
    result = run_train(
        TrainRequest(
            config=str(
                write_config(tmp_path, cnn=False, num_epoch=6, n_layers=1, bidirectional=True)
            ),
            data=str(sample_train),
            out=str(tmp_path / "store"),
        ),
        log=EventLog(io.StringIO(), job="train"),
    )
    assert result.metrics["validation"]["accuracy"] >= 0.5
    summary, _ = predict(tmp_path / "store", sample_predict, tmp_path / "results")
    assert summary.rows_predicted == 60


def test_n_classes_that_do_not_match_the_data_fail_before_training(tmp_path, sample_train) -> None:
    with pytest.raises(Exception, match=r"n_classes = 2, but .* has 5 distinct labels"):
        run_train(
            TrainRequest(
                config=str(write_config(tmp_path, n_classes=2)),
                data=str(sample_train),
                out=str(tmp_path / "o"),
            ),
            log=EventLog(io.StringIO(), job="train"),
        )


def test_predict_keeps_every_row_and_column_in_order(trained, sample_predict, tmp_path) -> None:
    store, result = trained
    summary, events = predict(store, sample_predict, tmp_path / "results")
    out_path = tmp_path / "results" / "warranty_predict_output.csv"
    assert summary.output == str(out_path)
    source, output = read_rows(sample_predict), read_rows(out_path)
    labels = sorted(["cosmetic", "electrical", "fire", "mechanical", "water_damage"])
    assert output[0] == source[0] + ["prediction", "confidence"] + [f"prob_{x}" for x in labels] + [
        "review",
        "review_reason",
    ]
    assert len(output) == len(source)
    for src, out in zip(source[1:], output[1:], strict=True):
        assert out[: len(src)] == src
        probs = [float(v) for v in out[len(src) + 2 : -2]]
        assert out[-2:] in (["no", ""], ["yes", "low_confidence"])
        assert sum(probs) == pytest.approx(1.0, abs=1e-4)
        assert out[len(src)] == labels[int(np.argmax(probs))]
        assert float(out[len(src) + 1]) == max(probs)
    saved = json.loads((tmp_path / "results" / "warranty_predict_output.json").read_text())
    assert saved["rows_in"] == saved["rows_out"] == 60
    assert saved["model_version"] == result.version
    assert sum(saved["predictions"].values()) == 60
    assert events[-1]["event"] == "done"


def test_predictions_match_the_generator_labels(trained, tmp_path) -> None:
    """The sample predict file has no labels; regenerate it with them to score the output."""
    from textbatch.sample_data import BUNDLED, generate, write_csv

    rows, seed, _ = BUNDLED["warranty_predict.csv"]
    truth = generate(rows, seed=seed)
    write_csv(tmp_path / "labelled.csv", truth)
    store, _ = trained
    predict(store, tmp_path / "labelled.csv", tmp_path / "r")
    with open(tmp_path / "r" / "labelled_output.csv", encoding="utf-8", newline="") as f:
        out = list(csv.DictReader(f))
    correct = sum(o["prediction"] == t["category"] for o, t in zip(out, truth, strict=True))
    assert correct / rows >= 0.8


def test_saved_model_reloads_to_the_same_probabilities(trained, sample_predict) -> None:
    store, _ = trained
    texts = [row[2] for row in read_rows(sample_predict)[1:]]
    first, second = (
        predict_texts(classifier_for(model), texts)
        for model in (open_model(str(store), Storage()), open_model(str(store), Storage()))
    )
    np.testing.assert_array_equal(first, second)


def test_output_to_an_explicit_csv_path(trained, sample_predict, tmp_path) -> None:
    store, _ = trained
    summary, _ = predict(store, sample_predict, tmp_path / "x" / "mine.csv")
    assert (tmp_path / "x" / "mine.csv").exists()
    assert json.loads((tmp_path / "x" / "mine.json").read_text())["rows_in"] == summary.rows_in


def test_empty_and_ragged_rows_stay_in_the_output_and_are_reported(trained, tmp_path) -> None:
    store, _ = trained
    path = tmp_path / "mixed.csv"
    path.write_text(
        'id,text\n1,"The oven caught fire"\n2,"   "\n3\n4,"Water leaked, floor soaked"\n'
        "5,Sparks at the socket\n",
        encoding="utf-8",
    )
    summary, _ = predict(store, path, tmp_path / "r")
    assert summary.rows_in == summary.rows_out == 5
    assert summary.rows_predicted == 3
    assert summary.rejected == [
        {"row": 2, "line": 3, "reason": "empty text"},
        {"row": 3, "line": 4, "reason": "1 fields, the header has 2"},
    ]
    output = read_rows(tmp_path / "r" / "mixed_output.csv")
    assert [row[0] for row in output[1:]] == ["1", "2", "3", "4", "5"]
    assert output[2][2:] == [""] * (len(output[0]) - 2)
    assert output[1][2]
    assert output[5][2]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # a row with more fields than the header: its extras would have no column
        ('id,text\n1,fire\n2,"Water leaked, floor soaked",extra\n', r"row 2 \(line 3\) has 3 "),
        ("text\n", r"has a header \(text\) but no data rows"),  # header only
        ('[{"text": "fire"}]\n', r"looks like JSON, not CSV"),
        ('{"rows": 1}\n', r"looks like JSON, not CSV"),
        # no header row: the first text would become the column's name
        ("My kettle stopped working after a week.\nThe oven door broke\n", r"no header row"),
        ("id,text,text\n1,a,b\n", r"2 columns named 'text' \(columns 2, 3\)"),
        ("id,Review,review\n1,a,b\n", r"2 columns named 'review' \(columns 2, 3\)"),
    ],
)
def test_quiet_successes_are_clear_errors_with_a_report(trained, tmp_path, content, message):
    store, _ = trained
    path = tmp_path / "odd.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        predict(store, path, tmp_path / "r")
    assert json.loads((tmp_path / "r" / "odd_error.json").read_text())["hint"]
    assert not (tmp_path / "r" / "odd_output.csv").exists()
    assert path.read_text(encoding="utf-8") == content  # the input is never touched


def test_a_one_column_file_headed_by_a_name_is_read(trained, tmp_path) -> None:
    store, _ = trained
    path = tmp_path / "comments.csv"
    path.write_text("Kommentar\nThe oven caught fire\nWater under the sink\n", encoding="utf-8")
    summary, _ = predict(store, path, tmp_path / "r")
    assert (summary.text_column, summary.rows_predicted) == ("Kommentar", 2)


def test_text_column_by_name_and_the_only_column(trained, tmp_path) -> None:
    store, _ = trained
    (tmp_path / "a.csv").write_text("body,id\nThe dryer caught fire,1\n", encoding="utf-8")
    summary, _ = predict(store, tmp_path / "a.csv", tmp_path / "r", text_column="body")
    assert summary.text_column == "body"
    (tmp_path / "b.csv").write_text("claim\nThe dryer caught fire\n", encoding="utf-8")
    summary, _ = predict(store, tmp_path / "b.csv", tmp_path / "r")
    assert (summary.text_column, summary.rows_predicted) == ("claim", 1)


def test_megabyte_fields_unicode_and_crlf_survive(trained, tmp_path) -> None:
    store, _ = trained
    big = "The kettle caught fire. " * 45_000  # ~1 MB
    path = tmp_path / "big.csv"
    path.write_bytes(
        (f'\ufefftext,note\r\n"{big}",a\r\n"Zoë\'s ""café"" fridge,\r\nleaked",b\r\n').encode()
    )
    predict(store, path, tmp_path / "r")
    output = read_rows(tmp_path / "r" / "big_output.csv")
    assert output[1][0] == big
    assert output[2][0] == 'Zoë\'s "café" fridge,\r\nleaked'


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("latin.csv", "text\ncafé fire\n".encode("latin-1"), "is not UTF-8 text"),
        ("empty.csv", b"", "is empty"),
        ("nocol.csv", b"id,body\n1,x\n", "has no text column"),
        ("quotes.csv", b'text\n"unterminated\n', "cannot parse CSV"),
        ("clash.csv", b"text,prediction\nfire,x\n", "already has column(s) ['prediction']"),
    ],
)
def test_bad_input_fails_with_a_report_and_the_input_is_untouched(
    trained, tmp_path, name, data, message
) -> None:
    store, _ = trained
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError, match=re.escape(message)) as info:
        predict(store, path, tmp_path / "r")
    assert name in str(info.value)
    assert path.read_bytes() == data
    report = json.loads((tmp_path / "r" / f"{name[:-4]}_error.json").read_text())
    assert report["error"] == "InputError"
    assert message in report["message"]
    assert report["hint"]
    assert not (tmp_path / "r" / f"{name[:-4]}_output.csv").exists()


def test_a_damaged_model_file_fails_its_checksum(trained, tmp_path, sample_predict) -> None:
    import shutil

    store, result = trained
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    labels = copy / "models" / result.version / "labels.json"
    labels.write_text('["fire"]')
    with pytest.raises(ArtifactError, match=r"labels\.json does not match its checksum"):
        predict(copy, sample_predict, tmp_path / "r")
    assert json.loads((tmp_path / "r" / "warranty_predict_error.json").read_text())["error"] == (
        "ArtifactError"
    )


def damaged_copy(trained, tmp_path: Path, change) -> tuple[Path, Path]:
    """A copy of the trained store with `change(version_dir, manifest)` applied; the
    manifest's checksums are kept true, so only the validation can catch it."""
    import hashlib
    import shutil

    store, result = trained
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    version = copy / "models" / result.version
    manifest = json.loads((version / "manifest.json").read_text())
    change(version, manifest)
    for name in manifest["files"]:
        if (version / name).is_file():
            manifest["files"][name] = hashlib.sha256((version / name).read_bytes()).hexdigest()
    (version / "manifest.json").write_text(json.dumps(manifest))
    return copy, version


def escaping_file(version: Path, manifest: dict) -> None:
    (version.parent / "x").write_text("{}")
    manifest["files"]["../x"] = hashlib_of(version.parent / "x")


def hashlib_of(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def truncated_weights(version: Path, manifest: dict) -> None:
    weights = version / manifest["weights"]
    weights.write_bytes(weights.read_bytes()[:100])


def wrong_labels(version: Path, manifest: dict) -> None:
    (version / "labels.json").write_text('{"not": "a list"}')


def unlisted_labels(version: Path, manifest: dict) -> None:
    del manifest["files"]["labels.json"]


def escaping_weights(version: Path, manifest: dict) -> None:
    manifest["weights"] = "../../weights.bin"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(files=sorted(m["files"])), r"\(files is list, not dict\)"),
        (lambda m: m["files"].update({"labels.json": 42}), r"files\['labels\.json'\] is not a"),
        (lambda m: m.update(wants_gpu="no"), r"\(wants_gpu is str, not bool\)"),
        (lambda m: m.clear() or m.update(format="textbatch.model/1"), r"not a textbatch model"),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_a_report_not_a_traceback(
    trained, tmp_path, sample_predict, change, message
) -> None:
    _, version = damaged_copy(trained, tmp_path, lambda *_: None)
    manifest = json.loads((version / "manifest.json").read_text())
    change(manifest)
    (version / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=message):
        predict(version, sample_predict, tmp_path / "r")
    report = json.loads((tmp_path / "r" / "warranty_predict_error.json").read_text())
    assert report["error"] == "ArtifactError"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (escaping_file, r"the file name '\.\./x' is not a plain name"),
        (escaping_weights, r"the file name '\.\./\.\./weights\.bin' is not a plain name"),
        (unlisted_labels, r"lists no labels\.json"),
        (truncated_weights, r"cannot load model\.params \(SafetensorError"),
        (wrong_labels, r"cannot load labels\.json \(ValueError: not a list"),
    ],
)
def test_a_changed_model_is_refused_with_a_report_and_writes_nothing_outside(
    trained, tmp_path, sample_predict, change, message
) -> None:
    _, version = damaged_copy(trained, tmp_path, change)
    before = sorted(p for p in tmp_path.rglob("*"))
    with pytest.raises(ArtifactError, match=message):
        predict(version, sample_predict, tmp_path / "r")
    report = json.loads((tmp_path / "r" / "warranty_predict_error.json").read_text())
    assert report["error"] == "ArtifactError"
    assert report["hint"]
    after = sorted(p for p in tmp_path.rglob("*"))
    assert set(after) - set(before) == {
        tmp_path / "r",
        tmp_path / "r" / "warranty_predict_error.json",
    }


def test_a_latest_pointer_to_a_path_is_refused(trained, tmp_path, sample_predict) -> None:
    copy, _ = damaged_copy(trained, tmp_path, lambda version, manifest: None)
    (copy / "models" / "latest.json").write_text(json.dumps({"version": "../../elsewhere"}))
    with pytest.raises(ArtifactError, match=r"'\.\./\.\./elsewhere' is not a plain name"):
        predict(copy, sample_predict, tmp_path / "r")


def test_a_location_with_no_model_says_so(tmp_path, sample_predict) -> None:
    with pytest.raises(ArtifactError, match="no model at"):
        predict(tmp_path / "nothing", sample_predict, tmp_path / "r")


@pytest.mark.parametrize(("architecture", "learning_rate"), [("bag", 0.02), ("nb_linear", 0.03)])
def test_cpu_models_with_the_fast_tokenizer_train_predict_and_want_no_gpu(
    tmp_path, sample_train, sample_predict, architecture, learning_rate
) -> None:
    result = run_train(
        TrainRequest(
            config=str(
                write_config(
                    tmp_path, architecture=architecture, tokenizer="fast", ngram_buckets=5000,
                    num_epoch=8, learning_rate=learning_rate, n_classes=None,
                )
            ),
            data=str(sample_train),
            out=str(tmp_path / "store"),
        ),
        log=EventLog(io.StringIO(), job="train"),
    )  # fmt: skip
    assert result.metrics["validation"]["accuracy"] >= 0.8
    model = open_model(str(tmp_path / "store"), Storage())
    assert model.manifest.architecture == architecture
    assert model.manifest.wants_gpu is False
    assert model.transformer.tokenizer_name == "fast"
    assert model.config.n_classes == 5  # null, resolved from the labels and saved so
    summary, _ = predict(tmp_path / "store", sample_predict, tmp_path / "results")
    assert summary.rows_predicted == 60


@pytest.mark.parametrize(
    "overrides",
    [
        {"architecture": "nb_linear", "tokenizer": "fast", "ngram_buckets": 5000},
        {"architecture": "nbsvm", "ngram_buckets": 1 << 16},
    ],
    ids=["nb_linear", "nbsvm"],
)
def test_numpy_models_predict_without_torch(tmp_path, sample_train, sample_predict, overrides):
    config = write_config(tmp_path, n_classes=None, **overrides)
    run_train(
        TrainRequest(config=str(config), data=str(sample_train), out=str(tmp_path / "store")),
        log=EventLog(io.StringIO(), job="train"),
    )
    code = (
        "import sys, io;"
        "from textbatch.jobs.events import EventLog;"
        "from textbatch.jobs.predict import PredictRequest, run_predict;"
        f"s = run_predict(PredictRequest(model={str(tmp_path / 'store')!r},"
        f" input={str(sample_predict)!r}, output={str(tmp_path / 'r')!r}),"
        " log=EventLog(io.StringIO(), job='predict'));"
        "print(s.rows_predicted, 'torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["60", "False"]
    predict(tmp_path / "store", sample_predict, tmp_path / "again")
    assert (tmp_path / "r" / "warranty_predict_output.csv").read_bytes() == (
        tmp_path / "again" / "warranty_predict_output.csv"
    ).read_bytes()


def test_the_shipped_cpu_config_validates_by_group_and_stops_early(
    tmp_path, sample_train, sample_predict
) -> None:
    """config/fast.json as shipped, with grouped validation by the claims' customer."""
    shipped = json.loads((Path(__file__).parents[2] / "config" / "fast.json").read_text())
    assert shipped["architecture"] == "nbsvm"
    config = tmp_path / "fast.json"
    config.write_text(json.dumps({**shipped, "validation_group_column": "customer"}))
    log = io.StringIO()
    result = run_train(
        TrainRequest(config=str(config), data=str(sample_train), out=str(tmp_path / "store")),
        log=EventLog(log, job="train"),
    )
    split = result.metrics["split"]
    assert split["by"] == "group:customer"
    assert 0 < split["validation_groups"] < split["groups"]
    assert result.metrics["validation"]["accuracy"] >= 0.9
    # the synthetic claims are learnt at once: patience 2 ends training two epochs later
    assert result.metrics["epochs_run"] == result.metrics["best_epoch"] + 2 < shipped["num_epoch"]
    events = [json.loads(line) for line in log.getvalue().splitlines()]
    assert any(e["event"] == "early_stop" for e in events)
    # refit: the chosen epoch count again, on every row
    refits = [e for e in events if e["event"] == "refit"]
    assert [e["epoch"] for e in refits] == list(range(1, result.metrics["best_epoch"] + 1))
    assert next(e for e in events if e["event"] == "split")["by"] == "group:customer"
    described = [describe_training_line(line) for line in log.getvalue().splitlines()]
    assert "validation split by group:customer" in " ".join(d for d in described if d)
    assert any(d and d.startswith("epoch 1: validation accuracy") for d in described)
    model = open_model(str(tmp_path / "store"), Storage())
    assert model.manifest.architecture == "nbsvm"
    assert model.manifest.wants_gpu is False
    assert model.config.validation_group_column == "customer"
    summary, _ = predict(tmp_path / "store", sample_predict, tmp_path / "results")
    assert summary.rows_predicted == 60


def test_a_group_column_the_data_lacks_is_one_clear_error(tmp_path, sample_train) -> None:
    config = write_config(tmp_path, validation_group_column="store_id")
    with pytest.raises(InputError) as raised:
        run_train(
            TrainRequest(config=str(config), data=str(sample_train), out=str(tmp_path / "s")),
            log=EventLog(io.StringIO(), job="train"),
        )
    assert "has no column 'store_id' to group validation rows by" in raised.value.message
    assert "claim_id" in raised.value.message  # the columns it does have
    assert not (tmp_path / "s").exists()


def test_progress_is_logged_at_each_tenth_of_the_input(trained, tmp_path) -> None:
    from textbatch.sample_data import generate, write_csv

    store, _ = trained
    write_csv(tmp_path / "many.csv", generate(30_000, seed=4), labelled=False)
    _, events = predict(store, tmp_path / "many.csv", tmp_path / "r")
    progress = [e for e in events if e["event"] == "progress"]
    assert len(progress) >= 8  # fast or slow, at least one line per tenth read
    assert all(a["rows_done"] < b["rows_done"] for a, b in itertools.pairwise(progress))
    assert {"percent", "rows_per_s", "eta_s"} <= set(progress[-1])


def test_the_model_reads_the_start_of_a_huge_text_and_the_summary_counts_it(
    trained, tmp_path, monkeypatch
) -> None:
    from textbatch.jobs import predict as predict_module

    monkeypatch.setattr(predict_module, "MODEL_CHARS", 40)
    store, _ = trained
    path = tmp_path / "long.csv"
    path.write_text(
        "id,text\n1,The oven caught fire\n2," + "Water under the sink " * 20 + "\n",
        encoding="utf-8",
    )
    summary, _ = predict(store, path, tmp_path / "r")
    assert (summary.rows_predicted, summary.texts_truncated) == (2, 1)
    output = read_rows(tmp_path / "r" / "long_output.csv")
    assert output[2][1] == ("Water under the sink " * 20)  # the row itself is whole


def test_labels_that_start_like_a_formula_are_refused_but_numbers_are_labels(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("label,text\nfire,The oven caught fire\n=cmd|' /C calc'!A0,Water\n")
    with pytest.raises(InputError, match=r"row 2 \(line 3\) has the label \"=cmd"):
        run_train(
            TrainRequest(
                config=str(write_config(tmp_path)), data=str(bad), out=str(tmp_path / "o")
            ),
            log=EventLog(io.StringIO(), job="train"),
        )
    numbers = tmp_path / "numbers.csv"
    rows = [
        f"{'-1' if i % 2 else '1'},{'awful broken' if i % 2 else 'great works'} {i}"
        for i in range(40)
    ]
    numbers.write_text("label,text\n" + "\n".join(rows) + "\n")
    result = run_train(
        TrainRequest(
            config=str(write_config(tmp_path, num_epoch=1, n_classes=None)),
            data=str(numbers),
            out=str(tmp_path / "n"),
        ),
        log=EventLog(io.StringIO(), job="train"),
    )
    labels = json.loads((tmp_path / "n" / "models" / result.version / "labels.json").read_text())
    assert sorted(labels) == ["-1", "1"]


@pytest.mark.parametrize("neutralise", [False, True])
def test_formula_cells_are_neutralised_only_when_asked(
    trained, tmp_path, neutralise, monkeypatch
) -> None:
    from textbatch_contract.jobs import NEUTRALISE_FORMULAS_ENV

    store, _ = trained
    path = tmp_path / "cells.csv"
    path.write_text('id,text\n=1+1,"=HYPERLINK(""http://x"")"\n-5,@sum the oven caught fire\n')
    if neutralise:  # as the job definition sets it for a stage with neutralise_formulas
        monkeypatch.setenv(NEUTRALISE_FORMULAS_ENV, "1")
    predict(store, path, tmp_path / "r")
    output = read_rows(tmp_path / "r" / "cells_output.csv")
    cells = [row[:2] for row in output[1:]]
    if neutralise:
        assert cells == [
            ["'=1+1", '\'=HYPERLINK("http://x")'],
            ["'-5", "'@sum the oven caught fire"],
        ]
    else:
        assert cells == [["=1+1", '=HYPERLINK("http://x")'], ["-5", "@sum the oven caught fire"]]
    assert all(float(row[3]) > 0 for row in output[1:])  # the model's own cells are numbers


def test_a_stop_after_the_result_is_written_leaves_the_result_alone(
    trained, sample_predict, tmp_path, monkeypatch
) -> None:
    """SIGTERM can land between the summary and the job's exit: the result stands, with no
    error report beside it to contradict it."""
    from textbatch.errors import Stopped
    from textbatch.jobs import predict as predict_module

    store, _ = trained
    real_delete = predict_module.Storage.delete

    def stopped_while_deleting(self, uri):  # just after the summary was written
        real_delete(self, uri)
        raise Stopped("stopped by SIGTERM")

    monkeypatch.setattr(predict_module.Storage, "delete", stopped_while_deleting)
    with pytest.raises(Stopped):
        predict(store, sample_predict, tmp_path / "r")
    assert (tmp_path / "r" / "warranty_predict_output.json").is_file()
    assert not (tmp_path / "r" / "warranty_predict_error.json").exists()


def test_a_stop_while_the_model_loads_is_reported_as_a_stop(
    trained, sample_predict, tmp_path, monkeypatch
) -> None:
    """SIGTERM while a model file is read is a stop, not a damaged model (CI saw an
    ArtifactError report for a terminated job)."""
    from textbatch.errors import Stopped
    from textbatch.model import artifacts

    store, _ = trained

    def stopped(*_args, **_kwargs):
        raise Stopped("stopped by SIGTERM")

    monkeypatch.setattr(artifacts, "load_file", stopped)
    with pytest.raises(Stopped):
        predict(store, sample_predict, tmp_path / "r")
    report = json.loads((tmp_path / "r" / "warranty_predict_error.json").read_text())
    assert report["error"] == "Stopped"


def test_a_knn_model_names_its_neighbours_and_takes_new_rows_without_training(
    tmp_path, sample_train, sample_predict
) -> None:
    """Predictions come with the training rows they came from; `--base-model` adds labelled
    rows (a new label too) as a new version, the old rows and features unchanged."""
    config = write_config(tmp_path, architecture="knn", ngram_buckets=1 << 16, n_neighbors=5,
                          n_classes=None)  # fmt: skip
    store = tmp_path / "store"
    first = run_train(
        TrainRequest(config=str(config), data=str(sample_train), out=str(store)),
        log=EventLog(io.StringIO(), job="train"),
    )
    assert first.metrics["validation"]["accuracy"] > 0.8
    manifest = json.loads((store / "models" / first.version / "manifest.json").read_text())
    assert (manifest["architecture"], manifest["wants_gpu"]) == ("knn", False)
    summary, _ = predict(store, sample_predict, tmp_path / "r")
    with open(tmp_path / "r" / "warranty_predict_output.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert summary.rows_predicted == len(rows) == 60
    with open(sample_train, encoding="utf-8", newline="") as f:
        training_rows = sum(1 for _ in csv.DictReader(f))
    for row in rows:
        refs = row["neighbors"].split()
        assert len(refs) == 5
        assert all(1 <= int(ref) <= training_rows for ref in refs)

    more = tmp_path / "more claims.csv"
    more.write_text(
        "label,text\nsoftware,the app crashes when I open the settings page\n"
        "software,the companion app freezes on start\n",
        encoding="utf-8",
    )
    log = io.StringIO()
    second = run_train(
        TrainRequest(config=str(config), data=str(more), out=str(store),
                     base_model=str(store / "models" / first.version)),
        log=EventLog(log, job="train"),
    )  # fmt: skip
    index_line = next(json.loads(x) for x in log.getvalue().splitlines() if '"index"' in x)
    assert (index_line["rows"], index_line["base_model"]) == (training_rows + 2, first.version)
    assert second.metrics["split"]["by"] == "base-model"
    query = tmp_path / "query.csv"
    query.write_text("text\nmy app crashes when I open it\n", encoding="utf-8")
    predict(store, query, tmp_path / "q")  # latest.json: the extended version
    with open(tmp_path / "q" / "query_output.csv", encoding="utf-8", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert row["prediction"] == "software"
    assert row["neighbors"].split()[0] == "more_claims.csv:1"  # the nearest added row
    assert "prob_software" in row


def test_nbsvm_term_frequency_travels_with_the_version(tmp_path, sample_train) -> None:
    """fast.json's binary term frequency is saved in the version and scored with; a version
    saved before the key existed (no `term_frequency` table) scores sublinear counts."""
    from textbatch.families.nbsvm import from_weights, to_weights

    for tf in ("binary", None):
        keys = {"term_frequency": tf} if tf else {}
        (tmp_path / str(tf)).mkdir()
        config = write_config(tmp_path / str(tf), architecture="nbsvm", n_classes=None,
                              ngram_buckets=1 << 16, **keys)  # fmt: skip
        store = tmp_path / str(tf) / "store"
        result = run_train(TrainRequest(config=str(config), data=str(sample_train), out=str(store)),
                           log=EventLog(io.StringIO(), job="train"))  # fmt: skip
        assert result.metrics["validation"]["accuracy"] > 0.6
        tables = classifier_for(open_model(str(store), Storage())).scorer.tables
        assert tables.term_frequency == (tf or "sublinear")
    old = {k: v for k, v in to_weights(tables).items() if k != "term_frequency"}
    assert from_weights(old).term_frequency == "sublinear"
    (tmp_path / "bad").mkdir()
    config = write_config(tmp_path / "bad", architecture="nbsvm", term_frequency="log")
    with pytest.raises(ConfigError, match="term_frequency"):
        run_train(TrainRequest(config=str(config), data=str(sample_train), out=str(tmp_path)),
                  log=EventLog(io.StringIO(), job="train"))  # fmt: skip


def test_knn_votes_weigh_what_the_version_was_trained_with(
    tmp_path, sample_train, sample_predict
) -> None:
    """knn.json's similarity votes reach the predict job through the version; a config that
    does not name `knn_weights` votes by distance (what versions from before the key keep)."""
    with open(sample_predict, encoding="utf-8", newline="") as f:
        texts = [r["text"] for r in csv.DictReader(f)][:20]
    for weights in ("similarity", None):
        keys = {"knn_weights": weights} if weights else {}
        (tmp_path / str(weights)).mkdir()
        config = write_config(tmp_path / str(weights), architecture="knn", n_classes=None,
                              ngram_buckets=1 << 16, n_neighbors=5, **keys)  # fmt: skip
        store = tmp_path / str(weights) / "store"
        run_train(TrainRequest(config=str(config), data=str(sample_train), out=str(store)),
                  log=EventLog(io.StringIO(), job="train"))  # fmt: skip
        model = open_model(str(store), Storage())
        assert model.config.knn_weights == (weights or "distance")
        scorer = classifier_for(model).scorer
        found = scorer.neighbours(texts)
        similarity = found.similarity.astype(np.float64)
        expected = np.maximum(similarity, 0) if weights else 1 / np.maximum(1 - similarity, 1e-9)
        labels = scorer.index.labels[found.index]
        probs = predict_texts(classifier_for(model), texts)
        for i in range(len(texts)):
            shares = [expected[i][labels[i] == c].sum() / expected[i].sum()
                      for c in range(len(model.labels))]  # fmt: skip
            assert np.allclose(probs[i], shares, atol=1e-5)
    (tmp_path / "bad").mkdir()
    config = write_config(tmp_path / "bad", architecture="knn", knn_weights="uniform")
    with pytest.raises(ConfigError, match="knn_weights"):
        run_train(TrainRequest(config=str(config), data=str(sample_train), out=str(tmp_path)),
                  log=EventLog(io.StringIO(), job="train"))  # fmt: skip


def test_a_knn_index_is_the_same_however_it_is_chunked_and_validated(
    tmp_path, sample_train, monkeypatch
) -> None:
    """The train job builds a knn index from chunks of the texts and searches the validation
    rows on every core: with chunks of 7 rows and two workers it publishes the same weights
    (the same file, byte for byte) and the same validation as in one chunk and one process."""
    from textbatch.families import knn as knn_family
    from textbatch.model import knn, workers

    published = {}
    for chunk_rows, n_workers in ((1_000_000, 1), (7, 2)):
        monkeypatch.setattr(knn, "CHUNK_ROWS", chunk_rows)
        monkeypatch.setattr(knn_family, "VALIDATION_CHUNK_ROWS", chunk_rows)
        monkeypatch.setattr(workers, "default_workers", lambda n=n_workers: n)
        run = tmp_path / str(chunk_rows)
        run.mkdir()
        config = write_config(run, architecture="knn", n_classes=None, ngram_buckets=1 << 16,
                              knn_max_features=8)  # fmt: skip
        result = run_train(
            TrainRequest(config=str(config), data=str(sample_train), out=str(run / "store")),
            log=EventLog(io.StringIO(), job="train"),
        )
        manifest = open_model(str(run / "store"), Storage()).manifest
        published[chunk_rows] = (manifest.files[manifest.weights], result.metrics["validation"])
    assert published[7] == published[1_000_000]


def test_a_knn_index_with_capped_postings_is_smaller_and_still_predicts(
    tmp_path, sample_train, sample_predict
) -> None:
    """`knn_max_postings_share` cuts each feature's postings to that share of the rows, in the
    validation index and the published one; the version predicts with what is left."""
    postings = {}
    for share in (1.0, 0.05):
        (tmp_path / str(share)).mkdir()
        config = write_config(tmp_path / str(share), architecture="knn", n_classes=None,
                              ngram_buckets=1 << 16, knn_max_postings_share=share)  # fmt: skip
        log = io.StringIO()
        store = tmp_path / str(share) / "store"
        request = TrainRequest(config=str(config), data=str(sample_train), out=str(store))
        result = run_train(request, log=EventLog(log, job="train"))
        line = next(json.loads(x) for x in log.getvalue().splitlines() if '"index"' in x)
        postings[share] = line["postings"]
        assert line["max_postings_share"] == share
        assert result.metrics["validation"]["accuracy"] > 0.6
        model = open_model(str(store), Storage())
        index = classifier_for(model).scorer.index
        assert np.diff(index.indptr).max() <= max(1, int(share * index.n_rows))
        summary, _ = predict(store, sample_predict, tmp_path / str(share) / "r")
        assert summary.rows_predicted == 60
    assert postings[0.05] < postings[1.0]
    (tmp_path / "bad").mkdir()
    config = write_config(tmp_path / "bad", architecture="knn", knn_max_postings_share=0)
    with pytest.raises(ConfigError, match="knn_max_postings_share"):
        run_train(TrainRequest(config=str(config), data=str(sample_train), out=str(tmp_path)),
                  log=EventLog(io.StringIO(), job="train"))  # fmt: skip


def test_base_model_is_for_knn_models_only(trained, tmp_path, sample_train) -> None:
    store, _ = trained
    config = write_config(tmp_path, architecture="knn", ngram_buckets=1 << 16, n_classes=None)
    with pytest.raises(ConfigError, match="only a knn model takes new rows"):
        run_train(
            TrainRequest(config=str(config), data=str(sample_train), out=str(tmp_path / "o"),
                         base_model=str(store)),
            log=EventLog(io.StringIO(), job="train"),
        )  # fmt: skip
