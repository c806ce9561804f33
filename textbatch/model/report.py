"""A model version's report, `report.html` beside its weights: one self-contained file (its
plots embedded as PNG) that a person opens to see how a version did and why it serves or not.

It shows the data (rows, labels, the split and its groups), the promotion gate's decision, the
validation accuracy and macro-F1, the confusion matrix, precision / recall / F1 per class, a
reliability diagram with the expected calibration error (do the confidences mean what they
say?) and the per-epoch validation curve. Plots by matplotlib (the Agg backend: no display).
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np

CALIBRATION_BINS = 10


def calibration(confidence: np.ndarray, correct: np.ndarray, bins: int = CALIBRATION_BINS) -> dict:
    """Reliability by confidence bin and the expected calibration error: the rows' share in each
    bin times |accuracy - mean confidence| there, summed (0: confidences are frequencies)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    at = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    rows = []
    ece = 0.0
    for b in range(bins):
        mask = at == b
        n = int(mask.sum())
        if n:
            accuracy, mean = float(correct[mask].mean()), float(confidence[mask].mean())
            ece += n / len(confidence) * abs(accuracy - mean)
            rows.append({"from": round(edges[b], 2), "to": round(edges[b + 1], 2), "rows": n,
                         "accuracy": round(accuracy, 4), "confidence": round(mean, 4)})  # fmt: skip
    return {"ece": round(ece, 4), "bins": rows}


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _plots(metrics: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    validation = metrics["validation"]
    labels = validation["confusion_matrix"]["labels"]
    confusion = np.array(validation["confusion_matrix"]["rows_true_columns_predicted"])
    plots: dict[str, str] = {}

    size = max(4.0, 0.45 * len(labels) + 2)
    figure, axes = plt.subplots(figsize=(size, size))
    axes.imshow(confusion, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=60, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    if len(labels) <= 25:
        for (i, j), n in np.ndenumerate(confusion):
            dark = n > confusion.max() / 2
            axes.text(j, i, str(n), ha="center", va="center", color="white" if dark else "black")
    axes.set_title("Confusion matrix (validation rows)")
    plots["confusion"] = _png(figure)
    plt.close(figure)

    per_class = validation["per_class"]
    figure, axes = plt.subplots(figsize=(max(5.0, 0.6 * len(labels) + 2), 3.6))
    x = np.arange(len(labels))
    for k, (name, offset) in enumerate((("precision", -0.27), ("recall", 0), ("f1", 0.27))):
        axes.bar(x + offset, [per_class[label][name] for label in labels], 0.27, label=name,
                 color=("#4c72b0", "#dd8452", "#55a868")[k])  # fmt: skip
    axes.set_xticks(x, labels, rotation=60, ha="right")
    axes.set_ylim(0, 1.05)
    axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, fontsize=8, frameon=False)
    axes.set_title("Per class", loc="right")
    plots["per_class"] = _png(figure)
    plt.close(figure)

    calibrated = metrics.get("calibration")
    if calibrated and calibrated["bins"]:
        figure, axes = plt.subplots(figsize=(4.6, 4.2))
        bins = calibrated["bins"]
        middles = [(b["from"] + b["to"]) / 2 for b in bins]
        axes.plot([0, 1], [0, 1], "--", color="grey", label="perfectly calibrated")
        axes.bar(middles, [b["accuracy"] for b in bins], width=0.09, alpha=0.75,
                 label="accuracy of the rows in the bin")  # fmt: skip
        axes.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-",
                  color="#c44e52", label="mean confidence")  # fmt: skip
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1.02)
        axes.set_xlabel("confidence")
        axes.set_ylabel("accuracy")
        axes.legend(loc="upper left", fontsize=8)
        axes.set_title(f"Reliability (expected calibration error {calibrated['ece']:.3f})")
        plots["calibration"] = _png(figure)
        plt.close(figure)

    epochs = [e for e in history if e.get("accuracy") is not None]
    if epochs:
        figure, axes = plt.subplots(figsize=(5.4, 3.4))
        axes.plot([e["epoch"] for e in epochs], [e["accuracy"] for e in epochs], "o-",
                  label="validation accuracy")  # fmt: skip
        if all("train_accuracy" in e for e in epochs):
            axes.plot([e["epoch"] for e in epochs], [e["train_accuracy"] for e in epochs], "s--",
                      label="train accuracy")  # fmt: skip
        best = metrics.get("best_epoch")
        if best:
            axes.axvline(best, color="grey", linestyle=":", label=f"best epoch ({best})")
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel("accuracy")
        axes.legend(loc="lower right", fontsize=8)
        axes.set_title("Training")
        plots["history"] = _png(figure)
        plt.close(figure)
    return plots


def render(
    *, version: str, architecture: str, metrics: dict[str, Any], history: list[dict[str, Any]]
) -> str:
    """The report as one HTML document."""
    plots = _plots(metrics, history)
    validation, split = metrics["validation"], metrics.get("split", {})
    gate = metrics.get("promotion") or {}
    e = html.escape

    def row(name: str, value: Any) -> str:
        return f"<tr><th>{e(name)}</th><td>{e(str(value))}</td></tr>"

    facts = [
        row("family", architecture),
        row("trained on", metrics.get("data")),
        row("training rows", metrics.get("train_rows")),
        row("validation rows", metrics.get("validation_rows")),
        row("skipped rows", metrics.get("skipped_rows")),
        row("labels", ", ".join(validation["confusion_matrix"]["labels"])),
        row("split", split.get("by")),
    ]
    if "groups" in split:
        facts.append(
            row("groups (validation / all)", f"{split['validation_groups']} / {split['groups']}")
        )
    facts += [
        row("validation accuracy", validation["accuracy"]),
        row("validation macro-F1", validation["macro_f1"]),
        row("expected calibration error", (metrics.get("calibration") or {}).get("ece", "-")),
        row("epochs (best / run)", f"{metrics.get('best_epoch')} / {metrics.get('epochs_run')}"),
        row("trained on device", metrics.get("device")),
        row("train seconds", metrics.get("train_seconds")),
    ]
    decided = "promoted" if gate.get("promoted") else "held back"
    promotion = (
        f"<p class='gate {decided.replace(' ', '-')}'><b>{e(decided)}</b>: {e(gate['reason'])}</p>"
        if gate
        else ""
    )
    thresholds = (metrics.get("review") or {}).get("per_class", {})

    def threshold(label: str) -> str:
        found = thresholds.get(label)
        if found is None:
            return "-"
        value = found.get("threshold")
        text = "review all" if value is None else f"{value:.3f}"
        return text if found.get("own") else f"{text} (overall)"

    per_class = "".join(
        f"<tr><td>{e(label)}</td><td>{s['precision']:.3f}</td><td>{s['recall']:.3f}</td>"
        f"<td>{s['f1']:.3f}</td><td>{s['support']}</td><td>{e(threshold(label))}</td></tr>"
        for label, s in validation["per_class"].items()
    )
    routing = metrics.get("review")
    if routing:
        facts.append(
            row(
                "review routing",
                f"{routing['coverage']:.1%} of validation rows auto-accepted at precision "
                f"{routing['precision'] if routing['precision'] is not None else '-'} "
                f"(target {routing['target_precision']})",
            )
        )
    figures = "".join(
        f"<figure><img alt='{e(name)}' src='data:image/png;base64,{data}'></figure>"
        for name, data in plots.items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>textbatch model {e(version)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.3em 0.8em; text-align: left; }}
.gate {{ padding: 0.6em 1em; border-radius: 4px; }}
.promoted {{ background: #e6f4ea; }} .held-back {{ background: #fdecea; }}
figure {{ display: inline-block; margin: 0.5em; vertical-align: top; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>Model {e(version)}</h1>
{promotion}
<h2>Data and scores</h2><table>{"".join(facts)}</table>
<h2>Plots</h2>{figures}
<h2>Per class</h2>
<table><tr><th>label</th><th>precision</th><th>recall</th><th>F1</th><th>rows</th>
<th>review threshold</th></tr>
{per_class}</table>
</body></html>
"""
