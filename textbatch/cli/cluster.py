"""Group the rows of an unlabelled CSV by their words: k-means over the texts' hashed n-gram
tf-idf features, streamed (memory stays flat however long the file).

The output keeps every input row and column, in order, and adds `cluster` (0..k-1) and
`distance` (1 - cosine similarity to the cluster's centre). A directory or prefix as --output
receives <input stem>_output.csv, <input stem>_clusters.json (each cluster's size, its most
characteristic words, its three closest rows) and <input stem>_output.json (the summary); a
failure leaves <input stem>_error.json there instead. Uploads under the stage's cluster
prefix (`cluster/`) run this as a Batch job on the CPU queue.
"""

from __future__ import annotations

import argparse

from textbatch_contract.jobs import CLUSTER
from textbatch_contract.jobs import input_version as requested_version

from textbatch.cli.options import add_log_format, add_text_column, examples


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        CLUSTER.name,
        help=CLUSTER.help,
        description=__doc__,
        epilog=examples(
            "textbatch cluster --input tickets.csv -o clusters/",
            "textbatch cluster --input tickets.csv -o clusters/ --clusters 8",
        ),
    )
    CLUSTER.add_options(parser, input="CSV to cluster: a path or s3:// URI")
    add_text_column(parser)
    parser.add_argument(
        "--clusters",
        default="2-12",
        help="how many: a count (8), or a range (4-12) whose count with the highest mean cosine "
        "silhouette on a sample of 2,000 rows is taken (default 2-12)",
    )
    parser.add_argument("--seed", type=int, default=0, help="of the sample and the start (0)")
    add_log_format(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from textbatch.jobs.cluster import ClusterRequest, parse_clusters, run_cluster

    run_cluster(
        ClusterRequest(
            input=args.input,
            output=args.output,
            clusters=parse_clusters(args.clusters),
            text_column=args.text_column,
            input_version=requested_version(args.input_version),
            seed=args.seed,
        )
    )
    return 0
