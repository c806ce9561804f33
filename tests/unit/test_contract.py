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
