"""The reporter's decisions, one JSON line each, through Powertools' Logger (the line's shape:
textbatch_contract.events)."""

from __future__ import annotations

from aws_lambda_powertools import Logger
from textbatch_contract import events

logger = Logger(
    service="textbatch-reporter", stream=events.CurrentStdout(), **events.LOGGER_OPTIONS
)
log = events.decision_logger(logger, events.REPORTER)
