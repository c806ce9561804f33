"""The trigger's decisions, one JSON line each, through Powertools' Logger: our keys first
(`decision`, `component`, `time`, then the fields; textbatch_contract.events), Powertools'
after them, so the saved Logs Insights queries and `textbatch status` read them as before."""

from __future__ import annotations

from aws_lambda_powertools import Logger
from textbatch_contract import events

logger = Logger(service="textbatch-trigger", stream=events.CurrentStdout(), **events.LOGGER_OPTIONS)
log = events.decision_logger(logger, events.TRIGGER)
