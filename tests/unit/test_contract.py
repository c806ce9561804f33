"""The contract package: what the Lambdas, the jobs and the CLI share."""

from __future__ import annotations

import json

import pytest
from textbatch_contract import FUNCTION_TIMEOUT_S, OutputPlan, results_prefix


@pytest.mark.parametrize(
    "handler_module", ["textbatch_trigger.handler", "textbatch_reporter.handler"]
)
def test_a_lambdas_aws_calls_retry_and_give_up_before_the_function_does(
    handler_module, monkeypatch
) -> None:
    import importlib

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = importlib.import_module(handler_module).client("s3")
    config = client.meta.config
    assert config.retries["mode"] == "standard"
    attempts = config.retries["total_max_attempts"]
    assert attempts >= 2
    assert attempts * (config.connect_timeout + config.read_timeout) < FUNCTION_TIMEOUT_S


def test_results_mirror_the_uploaded_keys_folders() -> None:
    assert results_prefix("s3://r/base", "a/b/x.csv") == "s3://r/base/a/b/"
    assert results_prefix("s3://r/", "x.csv") == "s3://r/"
    plan = OutputPlan.for_request("s3://p/a/x.csv", results_prefix("s3://r", "a/x.csv"))
    assert plan.csv == "s3://r/a/x_output.csv"
    assert plan.error == "s3://r/a/x_error.json"


def test_the_commands_the_trigger_builds_parse_in_the_jobs_cli_and_read_back() -> None:
    """Declared once (textbatch_contract.jobs), parsed by the `textbatch` CLI in the job's
    container and read back from a described job by the reporter and the operations views."""
    from textbatch_contract import jobs

    from textbatch.cli.main import build_parser

    parts = jobs.parts_prefix("s3://results/base/", "tb-claims-1a2b")
    assert parts == "s3://results/base/_parts/tb-claims-1a2b/"
    built = {
        jobs.SPLIT.name: jobs.SPLIT.argv(
            input="s3://in/claims.csv",
            input_version="v7",
            parts=parts,
            count=7,
            output="s3://results/base/",
        ),
        jobs.PART.name: jobs.PART.argv(
            model="s3://models/models/v1/", parts=parts, output="s3://results/base/"
        ),
        jobs.MERGE.name: jobs.MERGE.argv(parts=parts, output="s3://results/base/"),
    }
    parser = build_parser()
    for step, command in built.items():
        args = parser.parse_args(command)
        assert args.command == step
        assert args.parts == parts
        assert args.output == "s3://results/base/"
        job = {"container": {"command": command}}
        assert jobs.name_of(job) == step
        assert jobs.value_of(job, "parts") == parts
    assert parser.parse_args(built[jobs.SPLIT.name]).count == 7
    assert parser.parse_args(built[jobs.SPLIT.name]).input_version == "v7"
    unversioned = jobs.SPLIT.argv(
        input="x", input_version=jobs.LATEST, parts=parts, count=1, output="o"
    )
    assert jobs.input_version(parser.parse_args(unversioned).input_version) is None
    # the single predict job's definitions: the trigger fills Ref::input_version in
    from infra.job_specs import JOB_SPECS

    for spec in JOB_SPECS:
        assert (jobs.INPUT_VERSION.name in spec.parameter_names) == spec.role.startswith("predict")
    assert parser.parse_args(built[jobs.PART.name]).model == "s3://models/models/v1/"
    assert jobs.name_of({"container": {}}) == jobs.PREDICT.name
    assert jobs.value_of({"container": {"command": ["merge", "--parts"]}}, "parts") is None


@pytest.mark.parametrize("name", ["predict", "train", "split", "predict-part", "merge", "cluster"])
def test_every_jobs_command_line_parses_in_the_cli_with_each_parameter_as_its_option(
    name,
) -> None:
    """Both forms of a job's command line: the argv of a container override parses back to
    each value under the parameter's name, and the job definition's `Ref::` form names each
    parameter once; a value under a name the job lacks is refused, not silently dropped."""
    from textbatch_contract import jobs

    from textbatch.cli.main import build_parser

    job = jobs.JOBS[name]
    values = {
        p.name: 3 if p.type is int else p.choices[-1] if p.choices else f"value-of-{p.name}"
        for p in job.parameters
    }
    args = build_parser().parse_args(job.argv(**values))
    assert {key: getattr(args, key) for key in values} == values
    ref = job.definition_command()
    assert [x for x in ref if x.startswith("Ref::")] == [f"Ref::{n}" for n in job.parameter_names]
    described = {
        "container": {"command": ref},
        "parameters": {k: str(v) for k, v in values.items()},
    }
    assert {n: jobs.value_of(described, n) for n in values} == {
        k: str(v) for k, v in values.items()
    }
    with pytest.raises(ValueError, match="no parameter"):
        job.submit_parameters(**values, inputs="typo")
    with pytest.raises(ValueError, match="takes"):
        job.argv(**{k: v for k, v in list(values.items())[1:]})


class CapturingS3:
    """Records put_object calls; get_object answers as S3 does for a missing key."""

    def __init__(self) -> None:
        self.put: dict = {}

    def put_object(self, **kwargs) -> None:
        self.put = kwargs

    def get_object(self, **kwargs) -> None:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")


def test_the_jobs_and_the_reporter_write_the_same_bytes(tmp_path) -> None:
    from textbatch_contract import documents

    from textbatch.io.storage import Storage

    report = {"error": "JobFailed", "input": "s3://in/Prévisions été.csv", "attempts": [1, 2]}
    Storage().write_json(str(tmp_path / "r.json"), report)  # as a job writes it
    s3 = CapturingS3()
    documents.write_json(s3, "s3://out/r.json", report)  # as the failure reporter writes it
    assert s3.put["Body"] == (tmp_path / "r.json").read_bytes()
    assert s3.put["ContentType"] == "application/json"
    assert "Prévisions été" in s3.put["Body"].decode("utf-8")
    assert documents.read_json(s3, "s3://out/missing.json") is None


def test_the_trigger_and_the_jobs_resolve_a_model_location_the_same_way() -> None:
    from textbatch_contract.models import resolve_version

    store = {
        "s3://m/v1/manifest.json": {"version": "v1"},
        "s3://m/models/latest.json": {"version": "v2"},
        "s3://m/models/v2/manifest.json": {"version": "v2"},
        "s3://old/latest.json": {"version": "v3"},  # a pointer beside the location
        "s3://old/models/v3/manifest.json": {"version": "v3"},
        "s3://broken/models/latest.json": {"version": "gone"},
    }
    read = store.get
    assert resolve_version("s3://m/v1", read) == ("s3://m/v1", {"version": "v1"})
    assert resolve_version("s3://m", read) == ("s3://m/models/v2", {"version": "v2"})
    assert resolve_version("s3://old/", read) == ("s3://old/models/v3", {"version": "v3"})
    assert resolve_version("s3://broken", read) == ("s3://broken/models/gone", None)
    assert resolve_version("s3://empty", read) is None


def test_both_functions_log_decisions_through_powertools_with_the_contract_keys_first(
    capsys,
) -> None:
    from textbatch_contract import events
    from textbatch_reporter.log import log as reporter_log
    from textbatch_trigger.log import log as trigger_log

    from textbatch.cli.logs import readable

    trigger_log(events.IGNORED, uri="s3://b/first.csv", name="a field logging reserves")
    trigger_log(events.SUBMITTED, uri="s3://b/Ärger claims.csv", job_id="j-1", split=None)
    reporter_log(events.REPORTED, uri="s3://b/x.csv", error="JobFailed")
    first_line, trigger_line, reporter_line = capsys.readouterr().out.splitlines()
    assert json.loads(first_line)["name_"] == "a field logging reserves"
    assert "Ärger" in trigger_line  # unescaped: `status` finds a file's lines by its key
    trigger, reporter = json.loads(trigger_line), json.loads(reporter_line)
    assert list(trigger)[:3] == [events.DECISION, events.COMPONENT, events.TIME]  # every line
    assert list(reporter)[:3] == [events.DECISION, events.COMPONENT, events.TIME]
    assert (trigger["decision"], trigger["component"]) == ("submitted", "trigger")
    assert (reporter["decision"], reporter["component"]) == ("reported", "reporter")
    assert trigger["service"] == "textbatch-trigger"  # Powertools' own keys come after ours
    assert "split" not in trigger
    assert "location" not in trigger
    assert events.parse(trigger_line) == trigger
    shown = readable(trigger_line)
    assert shown.endswith("trigger submitted uri=s3://b/Ärger claims.csv job_id=j-1")
    assert "service" not in shown


def test_job_event_lines_round_trip_and_name_their_metric_filters() -> None:
    from textbatch_contract import events, jobs

    record = events.job_event(jobs.PREDICT.name, events.DONE, rows_in=3, seconds=0.1234567)
    assert list(record)[:3] == [events.EVENT, events.JOB, events.TIME]
    assert record["seconds"] == 0.12346
    assert events.parse(events.line(record)) == record
    assert events.parse('{"other": 1}') is None
    assert events.parse("START RequestId: x") is None
    assert events.metric_filter(events.DONE, jobs.PREDICT.name) == (
        '$.job = "predict" && $.event = "done"'
    )


def test_a_model_pointer_naming_a_path_is_refused_by_both_resolvers() -> None:
    from textbatch_contract.models import UnsafeName, plain_name, resolve_version
    from textbatch_contract.settings import ENV_VARS
    from textbatch_trigger.routing import choose_route
    from textbatch_trigger.settings import TriggerSettings

    documents = {"s3://m/models/latest.json": {"version": "../../x"}}
    with pytest.raises(UnsafeName, match="is not a plain name"):
        resolve_version("s3://m", documents.get)
    for bad in ("..", "a/b", ".hidden", "", "a" * 129, None, 3):
        with pytest.raises(UnsafeName):
            plain_name(bad, what="name")
    assert plain_name("20261124T105006Z-ae62aa1d", what="version")

    class S3:  # the trigger reads the pointer through an S3 client's get_object
        def get_object(self, Bucket, Key):
            import io

            from botocore.exceptions import ClientError

            if f"s3://{Bucket}/{Key}" not in documents:
                raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
            body = json.dumps(documents[f"s3://{Bucket}/{Key}"]).encode()
            return {"Body": io.BytesIO(body)}

    fields = {field: "x" for field in ENV_VARS} | {"predict_queue": "auto"}
    settings = TriggerSettings.from_fields(
        fields | {"model_location": "s3://m", "split_threshold_bytes": "1", "part_bytes": "1"}
    )
    route = choose_route(settings, S3())
    assert route.kind == "cpu"  # routed as if no model: the job refuses it with its report


def test_results_of_an_over_long_key_fit_s3_and_stay_distinct() -> None:
    """A 1,020-byte key's `<stem>_output.json` would be over S3's 1,024: shortened, with a hash
    of the whole key, so that two such keys never share a result."""
    from textbatch_contract.outputs import MAX_KEY_BYTES

    folder = "claims/" + "é" * 300 + "/"
    stem = "x" * (1020 - len(folder.encode()) - 4)
    keys = [f"{folder}{stem}.csv", f"{folder}{stem[:-1]}y.csv"]
    assert all(len(k.encode()) == 1020 for k in keys)
    plans = [
        OutputPlan.for_request(f"s3://in/{k}", results_prefix("s3://results", k)) for k in keys
    ]
    for plan in plans:
        for uri in (plan.csv, plan.summary, plan.error):
            key = uri.removeprefix("s3://results/")
            assert len(key.encode()) <= MAX_KEY_BYTES
            assert key.startswith(folder + "xxxx")
    assert len({p.summary for p in plans}) == 2
    assert plans[0].error.endswith("_error.json")
    # a key that fits keeps its name
    assert OutputPlan.for_request("s3://in/a.csv", "s3://r/").summary == "s3://r/a_output.json"
    # locally, a file name's 255 bytes
    local = OutputPlan.for_request("/in/" + "z" * 300 + ".csv", "/out")
    assert len(local.summary.rsplit("/", 1)[1].encode()) <= 255


def test_the_stopped_error_is_named_as_the_reporter_looks_for_it() -> None:
    from textbatch_contract.documents import STOPPED_ERROR

    from textbatch.errors import Stopped

    assert Stopped("x").as_report()["error"] == STOPPED_ERROR


def test_the_wheel_uses_the_trigger_only_through_its_surface_and_its_handler() -> None:
    """`textbatch submit` takes the trigger's path through the package's public names; the
    local cloud's relay calls the Lambda entry point; nothing else reaches into its rooms."""
    import ast
    from pathlib import Path

    import textbatch_trigger

    import textbatch

    allowed = {"textbatch_trigger", "textbatch_trigger.handler"}
    reached = set()
    for path in Path(textbatch.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "textbatch_trigger"
            ):
                reached.add(node.module)
    assert reached <= allowed, reached - allowed
    assert {"submit_object", "TriggerSettings", "UploadedObject"} <= set(textbatch_trigger.__all__)


def test_names_that_differ_only_in_the_suffixs_case_get_results_of_their_own() -> None:
    lower = OutputPlan.for_request("s3://in/x.csv", "s3://r/")
    upper = OutputPlan.for_request("s3://in/x.CSV", "s3://r/")
    assert lower.csv == "s3://r/x_output.csv"
    assert upper.csv == "s3://r/x.CSV_output.csv"
    for field in ("csv", "summary", "error", "clusters"):
        assert getattr(lower, field) != getattr(upper, field)
