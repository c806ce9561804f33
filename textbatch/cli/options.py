"""Options that several commands share. (A Batch job's own options come from its declaration:
textbatch_contract.jobs, `BatchJob.add_options`.)"""

from __future__ import annotations

import argparse


def add_text_column(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text-column", help="default: text or review, else the only column")
