"""The upload trigger: S3 "object created" events to exactly one AWS Batch predict job per
object version. boto3 and the contract layer only, so the function's asset needs no bundling.

The Lambda entry point is `textbatch_trigger.handler.lambda_handler`; `textbatch submit` calls
`submit_object` from `textbatch_trigger.submission` for the same path by hand. Rooms:
`settings.py` (what the function is configured with), `submission.py` (the decision: ignore,
duplicate or submit, once per revision), `routing.py` (which queue and model version),
`chain.py` (a large file's split -> array -> merge), `idempotency.py` (the claims), `objects.py`
(the event's objects), `log.py`.
"""
