"""The upload trigger: S3 "object created" events to exactly one AWS Batch predict job per
object version. boto3 and the contract layer only, so the function's asset needs no bundling.

The Lambda entry point is `textbatch_trigger.handler.lambda_handler`. The package's surface for
other callers is below: `textbatch submit` takes the same path by hand with `submit_object`, the
settings read from a stack's outputs and an object it describes. Rooms:
`settings.py` (what the function is configured with), `submission.py` (the decision: ignore,
duplicate or submit, once per revision), `routing.py` (which queue and model version),
`chain.py` (a large file's split -> array -> merge), `idempotency.py` (the claims), `objects.py`
(the event's objects), `log.py`.
"""

from textbatch_trigger.objects import UploadedObject
from textbatch_trigger.settings import TriggerSettings
from textbatch_trigger.submission import Outcome, submit_object

__all__ = ["Outcome", "TriggerSettings", "UploadedObject", "submit_object"]
