"""The deployed stack as the other processes find it: its name per stage, the stage variable,
and the names of its outputs (the CDK app declares them; the CLI, the local cloud and the demo
read them). The trigger's own settings and their outputs are textbatch_contract.settings'."""

from __future__ import annotations

# the stage a process works with: set on every job definition (the stage it runs in), read by
# the CLI as its default --stage, set to `local` by `textbatch local env`
STAGE_ENV = "TEXTBATCH_STAGE"


def stack_name(stage: str) -> str:
    """The CloudFormation stack of a stage (`cdk deploy -c stage=prod` makes Textbatch-prod)."""
    return f"Textbatch-{stage}"


PREDICT_BUCKET = "PredictBucket"
RESULTS_BUCKET = "ResultsBucket"
TRAINING_BUCKET = "TrainingBucket"
MODELS_BUCKET = "ModelsBucket"
CONFIG_BUCKET = "ConfigBucket"
TRAIN_JOB_DEFINITION = "TrainJobDefinition"  # the GPU image's, on the GPU queue
TRAIN_CPU_JOB_DEFINITION = "TrainCpuJobDefinition"  # the CPU image's, on the CPU queue
TRAIN_QUEUE = "TrainQueue"  # the stage's train_queue: auto, gpu or cpu
JOB_LOG_GROUP = "JobLogGroup"
TRIGGER_LOG_GROUP = "TriggerLogGroup"
TRIGGER_FUNCTION = "TriggerFunction"
REPORTER_FUNCTION = "ReporterFunction"
REPORTER_LOG_GROUP = "ReporterLogGroup"
TRIGGER_DEAD_LETTER_QUEUE = "TriggerDeadLetterQueue"
ALERTS_TOPIC = "AlertsTopic"
DASHBOARD = "Dashboard"
