"""The upload trigger: S3 "object created" events to exactly one AWS Batch predict job per
object version. boto3 only (the Lambda runtime has it), so the function's asset needs no bundling.

The Lambda entry point is `textbatch_trigger.handler.lambda_handler`; `textbatch submit` calls
`submit_object` from `textbatch_trigger.submission` for the same path by hand.
"""
