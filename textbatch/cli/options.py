"""Options that several commands share. (A Batch job's own options come from its declaration:
textbatch_contract.jobs, `BatchJob.add_options`.)"""

from __future__ import annotations

import argparse

from textbatch_contract.stack import STAGE_ENV

from textbatch.cloud.deployment import default_stage


def add_text_column(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text-column", help="default: text or review, else the only column")


def add_cloud_options(parser: argparse.ArgumentParser) -> None:
    """--stage, --endpoint, --region, --profile: a command that looks at a deployed stage."""
    parser.add_argument(
        "--stage", default=default_stage(), help=f"the stage (default: ${STAGE_ENV} or dev)"
    )
    parser.add_argument("--endpoint", help="an AWS endpoint URL, e.g. a LocalStack")
    parser.add_argument("--region", help="AWS region (default: the AWS configuration's)")
    parser.add_argument("--profile", help="AWS profile (default: the AWS configuration's)")
