"""Options that several commands share. (A Batch job's own options come from its declaration:
textbatch_contract.jobs, `BatchJob.add_options`.)"""

from __future__ import annotations

import argparse
import copy
import difflib
from typing import Any

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


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the paragraphs of a command's description and its Examples as written, and leaves
    out an option's `hidden` spellings (the aliases kept for earlier command lines)."""

    def _format_action_invocation(self, action: argparse.Action) -> str:
        hidden = getattr(action, "hidden", ())
        if hidden and action.option_strings:
            action = copy.copy(action)
            action.option_strings = [o for o in action.option_strings if o not in hidden]
        return super()._format_action_invocation(action)


class Parser(argparse.ArgumentParser):
    """textbatch's parsers (sub-commands take the same class): the help formatter above, and a
    mistyped command or choice answered with the near ones. A command added without `help`
    (the Batch-only jobs, `local serve`) is left out of the list and of the suggestions."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is None or value in action.choices:
            return
        listed = [a.dest for a in getattr(action, "_choices_actions", [])] or [
            str(c) for c in action.choices
        ]
        near = difflib.get_close_matches(str(value), listed, n=3, cutoff=0.5)
        what = "command" if isinstance(action, argparse._SubParsersAction) else "choice"
        raise argparse.ArgumentError(
            action,
            f"unknown {what} {value!r}"
            + (f"; did you mean {' or '.join(near)}?" if near else "")
            + f" (choose from {', '.join(listed)})",
        )


def examples(*lines: str) -> str:
    """A command's epilog: `examples:` and its command lines, as written."""
    return "examples:\n" + "".join(f"  {line}\n" for line in lines)


def add_follow(parser: argparse.ArgumentParser, help_text: str) -> None:
    """--follow/-f (and the earlier --wait): keep reading until the job ends."""
    action = parser.add_argument(
        "--follow", "-f", "--wait", dest="follow", action="store_true", help=help_text
    )
    action.hidden = ("--wait",)


def add_log_format(parser: argparse.ArgumentParser) -> None:
    """--log-format: how a job run here shows its events (textbatch.jobs.events)."""
    from textbatch.jobs.events import LOG_FORMAT_ENV, LOG_FORMATS

    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        help="text: readable lines and a progress bar on stderr; json: one JSON line per event "
        "on stdout, as on Batch; auto (default, or $" + LOG_FORMAT_ENV + "): text when stdout "
        "is a terminal",
    )
