"""The synthesized CloudFormation template of the `local` stage, and a resolver for its
intrinsic functions, so that the local cloud builds exactly what the CDK app defines."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textbatch_contract.stack import stack_name

from textbatch.errors import TextbatchError

REPO = Path(__file__).resolve().parents[2]
STAGE = "local"
SOURCES = ("infra", "functions", "config/stages", "cdk.json")


class TemplateError(TextbatchError):
    """The local stage's template cannot be synthesized or understood."""


def synthesized_template(cache_dir: Path) -> dict[str, Any]:
    """The local stage's template, synthesized again only when the CDK sources changed."""
    digest = _sources_digest()
    cached = cache_dir / f"template-{digest}.json"
    if cached.is_file():
        return json.loads(cached.read_text())
    if not (REPO / "infra").is_dir():
        raise TemplateError(
            "the local cloud needs the textbatch repository (infra/, the CDK app)",
            hint="run it from a clone with `make install`",
        )
    outdir = cache_dir / "cdk.out"
    code = (
        "from infra.app import build_app\n"
        f"app, stack = build_app({STAGE!r}, outdir={str(outdir)!r})\n"
        "app.synth()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
    )
    if result.returncode != 0:
        raise TemplateError(f"cdk synth of the local stage failed:\n{result.stderr[-2000:]}")
    template = json.loads((outdir / f"{stack_name(STAGE)}.template.json").read_text())
    cache_dir.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(template))
    return template


def _sources_digest() -> str:
    digest = hashlib.sha256()
    for source in SOURCES:
        path = REPO / source
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(REPO)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class Resolver:
    """Resolves Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split and pseudo parameters to the
    physical values the local cloud uses."""

    template: dict[str, Any]
    account: str
    region: str
    refs: dict[str, str]  # logical id -> what Ref returns
    attributes: dict[tuple[str, str], str]  # (logical id, attribute) -> value

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(key, arg)] = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                if (logical, attribute) not in self.attributes:
                    raise TemplateError(f"cannot resolve Fn::GetAtt {logical}.{attribute}")
                return self.attributes[(logical, attribute)]
            if key == "Fn::Join":
                separator, parts = arg
                return separator.join(str(self.resolve(p)) for p in parts)
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(index)]
            if key == "Fn::Split":
                separator, text = arg
                return str(self.resolve(text)).split(separator)
            if key == "Fn::Sub" and isinstance(arg, str):
                return re.sub(r"\$\{([^}]+)\}", lambda m: self._sub(m.group(1)), arg)
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, name: str) -> str:
        if "." in name:
            return self.resolve({"Fn::GetAtt": name.split(".", 1)})
        return self._ref(name)

    def _ref(self, name: str) -> str:
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack_name(STAGE),
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.refs:
            return self.refs[name]
        raise TemplateError(f"cannot resolve Ref {name}")

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}
