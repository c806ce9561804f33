"""Build the CDK app for a stage, with cdk-nag's AwsSolutions checks as a validation plugin."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from textbatch_contract.stack import stack_name

from infra.settings import StageSettings, load_stage
from infra.stack import TextbatchStack

CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"


def build_app(
    stage: str | None = None, *, outdir: str | None = None
) -> tuple[cdk.App, TextbatchStack]:
    # The CLI passes cdk.json's context to the app; `python app.py` and tests must read it here,
    # or the feature flags would silently differ between them.
    context = json.loads(CDK_JSON.read_text())["context"]
    app = cdk.App(context=context, outdir=outdir)
    settings: StageSettings = load_stage(stage or app.node.try_get_context("stage") or "dev")
    stack = TextbatchStack(app, stack_name(settings.stage), settings=settings)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack
