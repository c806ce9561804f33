"""What textbatch's processes must agree on, written once: the trigger and the failure reporter
(Lambda functions, which get this package as a layer), the Batch jobs, the CLI and the CDK app
import it from here. Standard library only: a Lambda layer from an asset directory, no bundling.

Today: where a file's results, summary and error report go (`outputs`), the path helpers they
are built with (`paths`), how every boto3 client retries and times out (`clients`), and the
Batch jobs' command lines, built and read back (`commands`), and the trigger's settings table
(field, environment variable, stack output: `settings`), and how a file's JSON documents
are encoded and read (`documents`), and which model version a location means (`models`), and
the JSON log lines' shape, event names and keys, read back by the operations commands and the
stack's metric filters (`events`).
"""

from textbatch_contract import commands, documents, events, models, settings
from textbatch_contract.clients import CLAIM_LEASE_S, FUNCTION_TIMEOUT_S, client_config
from textbatch_contract.outputs import PARTS_OUTPUTS, OutputPlan, parts_outputs, results_prefix
from textbatch_contract.paths import basename, is_s3, join

__all__ = [
    "CLAIM_LEASE_S",
    "FUNCTION_TIMEOUT_S",
    "PARTS_OUTPUTS",
    "OutputPlan",
    "basename",
    "client_config",
    "commands",
    "documents",
    "events",
    "is_s3",
    "join",
    "models",
    "parts_outputs",
    "results_prefix",
    "settings",
]
