"""A location's model versions and which one serves (its `models/latest.json`).

  list LOCATION             every version: created, family, data, rows, score, gate, latest
  show LOCATION VERSION     one version: its scores per class, the gate's decision, its files
  promote LOCATION VERSION  serve VERSION (the one serving now is remembered for a rollback)
  rollback LOCATION         serve the version promoted before the current one again

LOCATION is what `textbatch train --out` wrote to: a directory or s3://bucket[/prefix] (S3
through the standard AWS configuration: profile, region, AWS_ENDPOINT_URL). Every move is a
conditional write: if another operator or a train job moved the pointer meanwhile, nothing is
written and the command says so. Each move is logged as a JSON line on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from textbatch_contract import events

from textbatch.cli.options import examples

PROMOTE_JOB = "models"  # the `job` of the log lines these commands write


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "models",
        help="list, show, promote or roll back model versions",
        description=__doc__,
        epilog=examples(
            "textbatch models list model-store",
            "textbatch models show s3://MODELS/ 20261203T115519Z-7217d1c4 --json",
            "textbatch models promote s3://MODELS/ 20261203T115519Z-7217d1c4",
            "textbatch models rollback s3://MODELS/",
        ),
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb, help_text, takes_version in (
        ("list", "every version of a location", False),
        ("show", "one version", True),
        ("promote", "serve a version", True),
        ("rollback", "serve the previously promoted version again", False),
    ):
        sub = verbs.add_parser(verb, help=help_text)
        sub.add_argument("location", help="a directory or s3://bucket[/prefix]")
        if takes_version:
            sub.add_argument("version", help="a version's name (see `textbatch models list`)")
        sub.add_argument("--json", action="store_true", help="print JSON")
        sub.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from textbatch.io.storage import Storage
    from textbatch.model import versions

    storage = Storage()
    if args.verb == "list":
        found = versions.versions(args.location, storage)
        latest = versions.read_pointer(args.location, storage).version
        _print_list(found, latest, as_json=args.json)
        return 0
    if args.verb == "show":
        info = versions.describe(args.location, args.version, storage)
        latest = versions.read_pointer(args.location, storage).version
        _print_show(args.location, info, latest, as_json=args.json)
        return 0
    if args.verb == "promote":
        seen = versions.read_pointer(args.location, storage)
        moved = versions.move_pointer(
            args.location, args.version, storage, seen=seen, reason="promoted by an operator"
        )
        before = seen
    else:
        before, moved = versions.rollback(args.location, storage)
    record = events.job_event(
        PROMOTE_JOB,
        events.PROMOTION,
        promoted=True,
        reason=moved.reason,
        version=moved.version,
        previous=before.version,
        location=args.location,
        verb=args.verb,
    )
    print(events.line(record), file=sys.stderr)
    if args.json:
        print(json.dumps({"version": moved.version, "previous": before.version}))
    else:
        print(f"{args.location}: {moved.version} serves now (was {before.version or 'none'})")
    return 0


def _score(info: Any) -> str:
    v = info.validation
    return f"{v.get('accuracy', 0):.3f} / {v.get('macro_f1', 0):.3f}" if v else "-"


def _print_list(found: list[Any], latest: str | None, *, as_json: bool) -> None:
    if as_json:
        rows = [{**dataclasses.asdict(i), "latest": i.version == latest} for i in found]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not found:
        print("no versions")
        return
    print(f"  {'version':<26} {'created':<29} {'family':<9} {'rows':>7}  acc / macro-F1  gate")
    for info in found:
        gate = info.gate or {}
        decided = "-" if not gate else ("promoted" if gate.get("promoted") else "held back")
        print(
            f"{'*' if info.version == latest else ' '} {info.version:<26} {info.created_at:<29} "
            f"{info.architecture:<9} {info.train_rows or 0:>7}  {_score(info):<14}  {decided}"
        )
    print("* serves now (models/latest.json)")


def _print_show(location: str, info: Any, latest: str | None, *, as_json: bool) -> None:
    from textbatch.model.versions import version_uri

    document = {**dataclasses.asdict(info), "latest": info.version == latest,
                "location": version_uri(location, info.version)}  # fmt: skip
    if as_json:
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return
    print(f"{info.version} ({info.architecture}){' serves now' if document['latest'] else ''}")
    print(f"  at {document['location']}, created {info.created_at}")
    print(f"  trained on {info.data} ({info.train_rows} rows)")
    print(f"  validation accuracy / macro-F1: {_score(info)}")
    for label, scores in (info.validation.get("per_class") or {}).items():
        print(
            f"    {label}: precision {scores['precision']:.3f}, recall {scores['recall']:.3f}, "
            f"F1 {scores['f1']:.3f} ({scores['support']} rows)"
        )
    print(f"  report: {info.report or '(none: trained before the reports)'}")
    if info.gate:
        decided = "promoted" if info.gate["promoted"] else "held back"
        print(f"  gate: {decided}: {info.gate['reason']}")
