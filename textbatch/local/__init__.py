"""The local cloud: the pipeline on one machine, on an emulator, with no Docker.

Emulators serve the AWS APIs (the embedded moto server, or LocalStack for what it supports);
this package adds only what they cannot do here: an event relay that invokes the real trigger
handler for the predict bucket's S3 notifications, and a job executor that runs Batch jobs'
commands for real. Resources come from the CDK app's synthesized `local` stage.
"""
