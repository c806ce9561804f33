#!/usr/bin/env python3
"""The CDK app: `npx cdk synth -c stage=dev` (or prod) builds one stack per stage."""

from infra.app import build_app

app, _ = build_app()
app.synth()
