"""The contract package: what the Lambdas, the jobs and the CLI share."""

from __future__ import annotations

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
    """Built once (textbatch_contract.commands), parsed by the `textbatch` CLI in the job's
    container and read back from a described job by the reporter and the operations views."""
    from textbatch_contract import commands

    from textbatch.cli.main import build_parser

    parts = commands.parts_prefix("s3://results/base/", "tb-claims-1a2b")
    assert parts == "s3://results/base/_parts/tb-claims-1a2b/"
    built = {
        commands.SPLIT: commands.split_command(
            input_uri="s3://in/claims.csv", parts=parts, count=7, output="s3://results/base/"
        ),
        commands.PART: commands.part_command(
            model="s3://models/models/v1/", parts=parts, output="s3://results/base/"
        ),
        commands.MERGE: commands.merge_command(parts=parts, output="s3://results/base/"),
    }
    parser = build_parser()
    for step, command in built.items():
        args = parser.parse_args(command)
        assert args.command == step
        assert args.parts == parts
        assert args.output == "s3://results/base/"
        job = {"container": {"command": command}}
        assert commands.step_of(job) == step
        assert commands.option_of(job, "parts") == parts
    assert parser.parse_args(built[commands.SPLIT]).count == 7
    assert parser.parse_args(built[commands.PART]).model == "s3://models/models/v1/"
    assert commands.step_of({"container": {}}) == commands.PREDICT
    assert commands.option_of({"container": {"command": ["merge", "--parts"]}}, "parts") is None
