"""`textbatch cluster`: every row in order with its cluster, a description of each cluster, and
one clear line with an error report for what cannot be clustered."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from textbatch.errors import InputError
from textbatch.jobs.cluster import ClusterRequest, parse_clusters, run_cluster
from textbatch.jobs.events import EventLog
from textbatch.sample_data import generate, write_csv


@pytest.fixture(scope="module")
def claims(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("claims") / "claims.csv"
    write_csv(path, generate(1500, seed=4), labelled=True)
    return path


def cluster(input_path: Path, out: Path, clusters: tuple[int, int], **kw):
    log = io.StringIO()
    summary = run_cluster(
        ClusterRequest(input=str(input_path), output=str(out), clusters=clusters, **kw),
        log=EventLog(log, job="cluster"),
    )
    return summary, [json.loads(line) for line in log.getvalue().splitlines()]


def rows_of(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_every_row_keeps_its_place_and_gets_a_cluster_and_a_distance(claims, tmp_path) -> None:
    summary, events = cluster(claims, tmp_path / "out", (5, 5))
    rows = rows_of(tmp_path / "out" / "claims_output.csv")
    original = rows_of(claims)
    assert [r["claim_id"] for r in rows] == [r["claim_id"] for r in original]
    assert [r["text"] for r in rows] == [r["text"] for r in original]
    assert {r["cluster"] for r in rows} == {"0", "1", "2", "3", "4"}
    assert all(0.0 <= float(r["distance"]) <= 1.0 for r in rows)
    described = json.loads((tmp_path / "out" / "claims_clusters.json").read_text())
    assert described["n_clusters"] == summary.n_clusters == 5
    assert sum(c["size"] for c in described["clusters"]) == summary.rows_clustered == 1500
    for c in described["clusters"]:
        assert len(c["examples"]) == 3
        assert c["terms"]
        distances = [e["distance"] for e in c["examples"]]
        assert distances == sorted(distances)  # the closest rows, closest first
        # an example is the row of that number, in that cluster, at that distance
        row = rows[c["examples"][0]["row"] - 1]
        assert (int(row["cluster"]), float(row["distance"])) == (
            c["cluster"],
            pytest.approx(distances[0], abs=1e-6),
        )
    assert events[-1]["event"] == "done"
    # seeded: the same file and seed give the same clusters
    cluster(claims, tmp_path / "again", (5, 5))
    assert (tmp_path / "again" / "claims_output.csv").read_bytes() == (
        tmp_path / "out" / "claims_output.csv"
    ).read_bytes()


def test_the_clusters_follow_the_hidden_categories_well_above_chance(claims, tmp_path) -> None:
    from collections import Counter

    cluster(claims, tmp_path / "out", (5, 5))
    rows = rows_of(tmp_path / "out" / "claims_output.csv")
    by_cluster: dict[str, Counter] = {}
    for r in rows:
        by_cluster.setdefault(r["cluster"], Counter())[r["category"]] += 1
    purity = sum(c.most_common(1)[0][1] for c in by_cluster.values()) / len(rows)
    assert purity > 0.4  # five categories: one cluster for all would score about 0.2


def test_a_range_takes_the_count_with_the_best_silhouette_and_says_so(claims, tmp_path) -> None:
    summary, events = cluster(claims, tmp_path / "out", (2, 6))
    scores = {int(k): v for k, v in summary.choice["silhouettes"].items()}
    assert set(scores) == {2, 3, 4, 5, 6}
    assert summary.n_clusters == max(scores, key=scores.get)
    assert "silhouette" in summary.choice["rule"]
    assert next(e for e in events if e["event"] == "clusters")["n_clusters"] == summary.n_clusters


def test_empty_texts_stay_in_place_unclustered_and_are_listed(tmp_path) -> None:
    path = tmp_path / "gaps.csv"
    write_csv(path, generate(200, seed=9), labelled=False)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(5, 'C99-1,"Someone",\n')
    path.write_text("".join(lines), encoding="utf-8")
    summary, _ = cluster(path, tmp_path / "out", (3, 3))
    rows = rows_of(tmp_path / "out" / "gaps_output.csv")
    assert len(rows) == 201
    assert (rows[4]["cluster"], rows[4]["distance"]) == ("", "")
    assert summary.rows_rejected == 1
    assert summary.rejected[0]["reason"] == "empty text"


@pytest.mark.parametrize(
    ("content", "clusters", "message"),
    [
        ("text\nthe only claim\n", "2-12", "has 1 row(s) with a text: too few for 2 clusters"),
        ("text\none\ntwo\nthree\n", "5", "has 3 row(s) with a text: too few for 5 clusters"),
        ("id,text\n1,\n2, \n3,\n", "2", "has 0 row(s) with a text"),
        ("text\nalpha\nbeta\ngamma\ndelta\n", "2", "no word of its texts occurs in two or more"),
        (
            "text\nthe kettle\nthe oven, the hob\n",
            "2",
            "row 2 (line 3) has 2 fields, the header has 1",
        ),
    ],
    ids=[
        "one-row",
        "fewer-rows-than-clusters",
        "empty-text-column",
        "nothing-shared",
        "extra-fields",
    ],
)
def test_what_cannot_be_clustered_is_one_line_and_a_report(
    tmp_path, content, clusters, message
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "textbatch.cli.main", "cluster", "--input", str(path),
         "--output", str(tmp_path / "out"), "--clusters", clusters],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    line = done.stderr.strip().splitlines()[0]
    assert message in line
    assert "Traceback" not in done.stderr
    report = json.loads((tmp_path / "out" / "bad_error.json").read_text())
    assert report["error"] == "InputError"
    assert message in report["message"]
    assert not (tmp_path / "out" / "bad_output.csv").exists()


def test_cluster_counts_are_a_number_or_a_range() -> None:
    assert parse_clusters("8") == (8, 8)
    assert parse_clusters("4-12") == (4, 12)
    for bad in ("1", "9-3", "many", "2-x", "2001"):
        with pytest.raises(InputError):
            parse_clusters(bad)
