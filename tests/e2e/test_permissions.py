"""Every AWS call the pipeline made in this suite is allowed by the policies AWS would apply.

The local cloud enforces no IAM. So each process of it (the trigger and the reporter in its
relay, every Batch job in its container) recorded its calls (textbatch_contract.calls); here
each call becomes the IAM requests the Service Authorization Reference defines for it
(tests/iam/policies.py) and is evaluated by @cloud-copilot/iam-simulate against the
synthesized template's policies for the role that makes it in AWS: the job definition's job
role, the function's role, and the bucket policy of the bucket it touches. The calls were made
against the local stage's resources; they are evaluated against the local, dev and prod
templates, each call's names translated to that stage's resources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.iam.policies import Deployment, denied, read_calls, translate


@pytest.fixture(scope="module")
def deployments(cloud, tmp_path_factory) -> dict[str, Deployment]:
    from infra.app import build_app

    # the local cloud's account, as its bucket names hold it (LocalStack's or moto's default)
    local_account = cloud.bucket("predict").split("-")[-4]
    found = {}
    for stage in ("local", "dev", "prod"):
        outdir = tmp_path_factory.mktemp(f"iam-{stage}")
        app, stack = build_app(stage, outdir=str(outdir))
        app.synth()
        template = json.loads((Path(outdir) / f"{stack.stack_name}.template.json").read_text())
        found[stage] = Deployment(
            template, stage, **({"account": local_account} if stage == "local" else {})
        )
    return found


@pytest.mark.after_e2e
def test_every_call_the_pipeline_made_is_allowed_by_the_deployed_policies(
    cloud, deployments
) -> None:
    calls = [
        c
        for c in read_calls(Path(cloud.env["TEXTBATCH_CALL_LOG"]))
        if c["component"] != "textbatch"
    ]
    components = {c["component"] for c in calls}
    # the suite ran every component: a recording that stopped would pass vacuously
    assert {"trigger", "reporter", "job-train", "job-predict", "job-split", "job-predict-part",
            "job-merge", "job-cluster"} <= components, components  # fmt: skip
    local = deployments["local"]
    problems = []
    for deployment in deployments.values():
        translated = [translate(call, local, deployment) for call in calls]
        problems += denied(translated, deployment)
    assert not problems, "\n".join(problems)
