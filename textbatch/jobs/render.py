"""How a job's events read for a person: `textbatch logs`, `train --follow`, and a job run
here on a terminal (`--log-format`, textbatch.jobs.events). The JSON lines stay what Batch,
CloudWatch Logs and every script read; this only draws them."""

from __future__ import annotations

import json
from typing import Any, TextIO

from textbatch_contract import events


def progress_bar(event: dict[str, Any]) -> str:
    """A progress event as `HH:MM:SS [#####.....]  52.1%  1024 rows  9000 rows/s  ETA 3s`."""
    percent = event.get("percent")
    filled = int((percent or 0) / 5)
    bar = "#" * filled + "." * (20 - filled)
    eta = f"ETA {event['eta_s']:.0f}s" if event.get("eta_s") is not None else "ETA -"
    shown = f"{percent:5.1f}%" if percent is not None else "    ?%"
    return (
        f"{event.get('time', '')[11:19]} [{bar}] {shown}  {event['rows_done']} rows  "
        f"{event['rows_per_s']:.0f} rows/s  {eta}"
    )


def all_fields(event: dict[str, Any]) -> str:
    """`HH:MM:SS event key=value ...`: every field, for an operator reading a job's log."""
    if event.get(events.EVENT) == events.PROGRESS:
        return progress_bar(event)
    details = " ".join(
        f"{k}={json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v}"
        for k, v in events.fields_of(event).items()
    )
    return f"{event.get(events.TIME, '')[11:19]} {events.name_of(event)} {details}".strip()


def readable(line: str) -> str:
    """A JSON log line as `time event key=value ...`; anything else unchanged."""
    event = events.parse(line)
    return line if event is None else all_fields(event)


def training_line(event: dict[str, Any]) -> str | None:
    """A train job's event as a short line (None: not worth showing to a person)."""
    kind = event.get(events.EVENT)
    if kind == events.VALIDATION:  # networks log loss and lr too; knn no train accuracy
        loss = f", loss {event['loss']:.4f}" if "loss" in event else ""
        lr = f", lr {event['lr']:g}" if "lr" in event else ""
        train = (
            f" (train accuracy {event['train_accuracy']:.3f})" if "train_accuracy" in event else ""
        )
        return (
            f"epoch {event['epoch']}: validation accuracy {event['accuracy']:.3f}{loss}"
            f"{train}{lr}" + (" *best" if event.get("best") else "")
        )
    if kind == events.SPLIT:
        groups = (
            f", {event['validation_groups']} of {event['groups']} groups"
            if "groups" in event
            else ""
        )
        return f"validation split by {event['by']}{groups}"
    if kind == events.EARLY_STOP:
        return f"stopped early after epoch {event['epoch']} (best: epoch {event['best_epoch']})"
    if kind == events.DATA:
        return (
            f"data: {event['train_rows']} training rows, {event['validation_rows']} validation rows"
        )
    if kind == events.PROMOTION:
        return f"{'promoted' if event['promoted'] else 'not promoted'}: {event['reason']}"
    if kind == events.DONE:
        return f"model {event['version']} published to {event['location']}"
    if kind == events.ENCODER:
        return (
            f"encoder {event['source']}: {event['layers']} layers x {event['hidden']}, "
            f"{event['seq_len']} word pieces ({event['head_tokens']} from the head), "
            f"sha256 {event['sha256'][:12]}... (pinned, checked)"
        )
    if kind == events.ENSEMBLE:
        accuracies = ", ".join(
            f"{name} {event[key]:.3f}"
            for name, key in (
                ("blend", "accuracy"),
                ("encoder", "encoder_accuracy"),
                (event["partner"], "partner_accuracy"),
            )
            if event.get(key) is not None
        )
        return f"ensemble with {event['partner']}: the encoder's weight {event['weight']:g}" + (
            f" (validation accuracy: {accuracies})" if accuracies else ""
        )
    if kind in (events.FAILED, events.EMBEDDINGS):
        return f"{kind}: " + ", ".join(f"{k}={v}" for k, v in events.fields_of(event).items())
    return None


def describe_training_line(line: str) -> str | None:
    """A train job's JSON log line as a short readable line (None: not worth showing)."""
    event = events.parse(line)
    return line if event is None else training_line(event)


def job_line(event: dict[str, Any]) -> str | None:
    """Any job's event as a person reads it, run here (None: nothing to show for it)."""
    job, kind = event.get(events.JOB), event.get(events.EVENT)
    if job == "train":
        if kind == events.START:
            return f"training {event.get('config')} on {event.get('data')} ({event.get('device')})"
        return training_line(event)
    if kind == events.FAILED:
        hint = f"\n  hint: {event['hint']}" if event.get("hint") else ""
        return f"failed: {event.get('message', event.get('error'))}{hint}"
    if kind == events.START:
        return f"{job} {event.get('input')} -> {event.get('output')}"
    if kind == "model":
        return f"model {event.get('version')} on {event.get('device')}"
    if kind == "review":
        return (
            f"review: {event['rows_to_review']} rows to review ({event.get('disagrees', 0)} "
            f"disagree, {event.get('low_confidence', 0)} low confidence) in "
            f"{event.get('review_file')}; {event['rows_auto_accepted']} accepted"
        )
    if kind == "shift":
        over = ", ".join(event.get("over_threshold") or []) or "nothing over its threshold"
        return f"shift: {event['level']} ({over})"
    if kind == "clusters":
        return f"{event['n_clusters']} clusters ({event.get('rule')})"
    if kind == "rejected":
        return f"rejected row {event.get('row')} (line {event.get('line')}): {event.get('reason')}"
    if kind == events.DONE:
        rows = event.get(events.ROWS_IN)
        rejected = event.get(events.ROWS_REJECTED) or 0
        speed = f", {event['rows_per_s']:.0f} rows/s" if event.get("rows_per_s") else ""
        took = f" in {event[events.SECONDS]:.1f} s" if event.get(events.SECONDS) else ""
        return f"done: {rows} rows, {rejected} rejected{speed}{took}; wrote {event.get('output')}"
    if kind in ("features", "epoch"):  # a cluster job's bookkeeping
        return None
    return all_fields(event)


class TerminalRenderer:
    """Draws a job's events on a person's terminal (stderr): progress as one bar redrawn in
    place (on a terminal; a line per event elsewhere), every other event as a short line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.in_place = stream.isatty()
        self.bar_open = False  # the bar is drawn and the cursor sits at its end

    def show(self, event: dict[str, Any]) -> None:
        if event.get(events.EVENT) == events.PROGRESS:
            bar = progress_bar(event)[9:]  # without the time of day
            if self.in_place:
                self.stream.write(f"\r\x1b[2K{bar}")
                self.bar_open = True
            else:
                self.stream.write(bar + "\n")
            self.stream.flush()
            return
        text = job_line(event)
        if text is None:
            return
        if self.bar_open:
            self.stream.write("\n")
            self.bar_open = False
        self.stream.write(text + "\n")
        self.stream.flush()
