"""The trigger's settings, one row each: its field, the trigger function's environment variable
(set by the CDK app) and the stack output (read back by `textbatch submit`, which takes the
trigger's path by hand). A setting added here reaches all three, or a test fails."""

from __future__ import annotations

from collections.abc import Mapping

# field, environment variable, stack output
TRIGGER_SETTINGS: tuple[tuple[str, str, str], ...] = (
    ("gpu_job_queue", "GPU_JOB_QUEUE", "GpuJobQueue"),
    ("gpu_job_definition", "GPU_JOB_DEFINITION", "PredictJobDefinition"),
    ("cpu_job_queue", "CPU_JOB_QUEUE", "CpuJobQueue"),
    ("cpu_job_definition", "CPU_JOB_DEFINITION", "PredictCpuJobDefinition"),
    ("predict_queue", "PREDICT_QUEUE", "PredictQueue"),
    ("results_location", "RESULTS_LOCATION", "ResultsLocation"),
    ("model_location", "MODEL_LOCATION", "ModelLocation"),
    ("idempotency_table", "IDEMPOTENCY_TABLE", "SubmissionsTable"),
    ("split_threshold_bytes", "SPLIT_THRESHOLD_BYTES", "SplitThresholdBytes"),
    ("part_bytes", "PART_BYTES", "PartBytes"),
    ("cluster_prefix", "CLUSTER_PREFIX", "ClusterPrefix"),
)
ENV_VARS = {field: var for field, var, _ in TRIGGER_SETTINGS}
STACK_OUTPUTS = {field: output for field, _, output in TRIGGER_SETTINGS}


def environment(**values: str) -> dict[str, str]:
    """The trigger function's environment from settings given by field name."""
    unknown = sorted(set(values) - set(ENV_VARS))
    if unknown:
        raise KeyError(f"not trigger settings: {', '.join(unknown)}")
    return {ENV_VARS[field]: value for field, value in values.items()}


def fields_from(source: Mapping[str, str], names: Mapping[str, str]) -> dict[str, str]:
    """Field -> value from an environment (names=ENV_VARS) or stack outputs (STACK_OUTPUTS);
    raises KeyError naming every missing variable or output."""
    missing = [name for name in names.values() if not source.get(name)]
    if missing:
        raise KeyError(", ".join(missing))
    return {field: source[name] for field, name in names.items()}
