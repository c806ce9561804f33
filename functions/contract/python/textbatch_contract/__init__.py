"""What textbatch's processes must agree on, written once: the trigger and the failure reporter
(Lambda functions, which get this package as a layer), the Batch jobs, the CLI and the CDK app
import it from here. Standard library only: a Lambda layer from an asset directory, no bundling.

Today: where a file's results, summary and error report go (`outputs`), the path helpers they
are built with (`paths`), how every boto3 client retries and times out (`clients`), each Batch
job's name, parameters and command line, built and read back (`jobs`), a large file's plan and
parts-failed report (`parts`), the stack's name and outputs (`stack`), the trigger's settings
table (field, environment variable, stack output: `settings`), the idempotency claims
(`claims`), how a file's JSON documents are encoded and read (`documents`), a model version's
files and which version a location means (`models`), which revision's outcome may be written
(`revisions`), the AWS call log (`calls`), and the JSON log lines' shape, event names and
keys, read back by the operations commands and the stack's metric filters (`events`).
"""

from textbatch_contract import documents, events, jobs, models, parts, settings, stack
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
    "documents",
    "events",
    "is_s3",
    "jobs",
    "join",
    "models",
    "parts",
    "parts_outputs",
    "results_prefix",
    "settings",
    "stack",
]
