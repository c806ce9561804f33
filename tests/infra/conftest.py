from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
STAGES = ("dev", "prod")


@dataclass(frozen=True)
class Synth:
    stage: str
    template: dict[str, Any]
    template_path: Path
    outdir: Path
    validation: dict[str, Any]

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}

    def one(self, kind: str, **props: Any) -> dict[str, Any]:
        """The only resource of `kind` whose properties include `props`."""
        found = [
            r
            for r in self.resources(kind).values()
            if all(r["Properties"].get(k) == v for k, v in props.items())
        ]
        assert len(found) == 1, f"{len(found)} {kind} match {props}"
        return found[0]


@pytest.fixture(scope="session")
def synths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synth]:
    """Each stage synthesized once per session (the first synth starts jsii: seconds)."""
    from infra.app import build_app

    result = {}
    for stage in STAGES:
        outdir = tmp_path_factory.mktemp(f"cdk-{stage}")
        app, stack = build_app(stage, outdir=str(outdir))
        app.synth()
        path = outdir / f"{stack.stack_name}.template.json"
        result[stage] = Synth(
            stage=stage,
            template=json.loads(path.read_text()),
            template_path=path,
            outdir=outdir,
            validation=json.loads((outdir / "validation-report.json").read_text()),
        )
    return result


@pytest.fixture(params=STAGES)
def synth(request: pytest.FixtureRequest, synths: dict[str, Synth]) -> Synth:
    return synths[request.param]
