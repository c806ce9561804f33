"""The Batch jobs, each declared once: its name (the `textbatch` command that runs it, which is
also what its described job's command starts with), its parameters, and from them its command
line in both forms, `Ref::` for a job definition and argv for a container override, and how a
described job's parameter is read back.

Who uses it: the CDK app's job definitions (`definition_command`, `definition_parameters`), the
trigger and its chain (`parameters`, `argv`), `textbatch train --submit`, the `textbatch` CLI in
the job's container (`add_options`: the option of each parameter), the failure reporter and the
operations views (`value_of`, `job_of`). A parameter `input_version` is the option
`--input-version` and the Batch parameter `input_version`, everywhere.

A single predict job runs its job definition's command; a large file's three jobs and a cluster
job run on the predict job definitions with their command as a container override, and carry
the file's predict parameters, so that every view of a file finds all of its jobs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The uploaded revision a job reads: the S3 version id the trigger got in the event, or LATEST
# (an unversioned bucket, a job submitted by hand).
LATEST = "latest"
# The job definitions' environment variable with the job's vCPUs: Batch does not pin a container
# to its vCPUs on EC2 (they are CPU shares), so the jobs' workers would count the host's cores.
VCPUS_ENV = "TEXTBATCH_VCPUS"
# Set ("1") on the predict job definitions by the stage setting neutralise_formulas.
NEUTRALISE_FORMULAS_ENV = "TEXTBATCH_NEUTRALISE_FORMULAS"
# Set ("0") on the predict job definitions when the stage setting why_column is false.
WHY_ENV = "TEXTBATCH_WHY"
# A job definition's tag naming which of the two Batch images it runs ("gpu" or "cpu"): the CDK
# app tags each definition, the local cloud runs the image it names
IMAGE_TAG = "textbatch:image"

PARTS_DIR = "_parts"  # under the results location: every large file's parts
PARTS_PATTERN = f"{PARTS_DIR}/*"  # the object keys the jobs write there (IAM resources)
PARTS_EXPIRE_DAYS = 7  # a failed large file's parts: the results bucket's lifecycle rule


@dataclass(frozen=True)
class Parameter:
    """One input of a Batch job: a Batch parameter and the CLI option of the same name."""

    name: str
    help: str
    type: type = str
    optional: bool = False  # the CLI option may be left out (the job takes its default)
    choices: tuple[str, ...] | None = None
    # The CLI spells one meaning one way across commands (--input, --output): `option` when
    # that differs from the Batch parameter's name, `short` (-o), and `aliases`, the spellings
    # of earlier releases, still accepted (a job definition of an older deploy passes them)
    # but left out of the help.
    option: str | None = None
    short: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        return "--" + (self.option or self.name).replace("_", "-")

    @property
    def flags(self) -> tuple[str, ...]:
        """Every option string the CLI accepts for it: the flag first."""
        return (self.flag, *((self.short,) if self.short else ()), *self.aliases)


@dataclass(frozen=True)
class BatchJob:
    name: str  # the `textbatch` command
    parameters: tuple[Parameter, ...]
    help: str

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    def definition_command(self) -> list[str]:
        """The command of a job definition: each value a `Ref::` the job's parameters fill."""
        return [self.name, *(x for p in self.parameters for x in (p.flag, f"Ref::{p.name}"))]

    def argv(self, **values: Any) -> list[str]:
        """The command with its values, for a container override (every parameter, by name)."""
        self._check(values)
        return [self.name, *(x for p in self.parameters for x in (p.flag, str(values[p.name])))]

    def submit_parameters(self, **values: Any) -> dict[str, str]:
        """The `parameters` of a SubmitJob on this job's definition, by name; one left out (or
        None) takes the job definition's default (the CDK app sets them)."""
        unknown = sorted(set(values) - set(self.parameter_names))
        if unknown:
            raise ValueError(f"the {self.name} job has no parameter {', '.join(unknown)}")
        return {
            p.name: str(values[p.name]) for p in self.parameters if values.get(p.name) is not None
        }

    def add_options(self, parser: Any, *, required: bool = True, **helps: str) -> None:
        """Each parameter's option on an argparse parser (`helps`: a command's own wording)."""
        for p in self.parameters:
            action = parser.add_argument(
                *p.flags,
                dest=p.name,
                metavar=None if p.choices else (p.option or p.name).upper(),
                required=required and not p.optional,
                type=p.type,
                choices=p.choices,
                help=helps.get(p.name, p.help),
            )
            action.hidden = p.aliases  # the help's formatter leaves them out (textbatch.cli)

    def _check(self, values: Mapping[str, Any]) -> None:
        if set(values) != set(self.parameter_names) or None in values.values():
            raise ValueError(
                f"the {self.name} job takes {', '.join(self.parameter_names)}; got "
                f"{', '.join(sorted(values))}"
            )


INPUT = Parameter("input", "the CSV: a path or s3:// URI")
INPUT_VERSION = Parameter(
    "input_version",
    "the S3 version id of the input to read (default or 'latest': the latest)",
    optional=True,
)
OUTPUT = Parameter(
    "output", "a .csv path/key, or a directory or s3:// prefix for the results", short="-o"
)
MODEL = Parameter("model", "a model version, or a location holding models/latest.json")
PARTS = Parameter("parts", "the prefix (or directory) of the file's parts and plan")

PREDICT = BatchJob(
    "predict", (MODEL, INPUT, INPUT_VERSION, OUTPUT), "classify a CSV (the predict job)"
)
CONFIG = Parameter("config", "config JSON: a path or s3:// URI")
DATA = Parameter("data", "labelled CSV: a path or s3:// URI", option="input", aliases=("--data",))
OUT = Parameter(
    "out",
    "where to publish: a directory or s3://bucket[/prefix]",
    option="output",
    short="-o",
    aliases=("--out",),
)
PROMOTE_MODES = ("auto", "always", "never")
PROMOTE = Parameter(
    "promote",
    "auto: models/latest.json moves to the new version only if it scores at least the current "
    "one's (the promotion gate); always; never (default auto)",
    optional=True,
    choices=PROMOTE_MODES,
)

TRAIN = BatchJob("train", (CONFIG, DATA, OUT, PROMOTE), "train a model (the train job)")
SPLIT = BatchJob(
    "split",
    (INPUT, INPUT_VERSION, PARTS, Parameter("count", "number of parts", int), OUTPUT),
    "split a large CSV into parts (Batch job)",
)
PART = BatchJob("predict-part", (MODEL, PARTS, OUTPUT), "predict one part (Batch array child)")
MERGE = BatchJob("merge", (PARTS, OUTPUT), "merge the parts' results (Batch job)")
CLUSTER = BatchJob("cluster", (INPUT, INPUT_VERSION, OUTPUT), "group a CSV's texts")

JOBS = {job.name: job for job in (PREDICT, TRAIN, SPLIT, PART, MERGE, CLUSTER)}
STEPS = (SPLIT, PART, MERGE)  # a large file's jobs, in order
# what each job's log lines carry as their `job` (textbatch_contract.events): a part is predicted
EVENTS_JOB = {**{name: name for name in JOBS}, PART.name: PREDICT.name}


def input_version(value: str | None) -> str | None:
    """The `--input-version` option's value as a version id to read (None: the latest)."""
    return None if value in (None, "", LATEST) else value


def parts_prefix(results_location: str, name: str) -> str:
    """Where a large file's parts, their outputs and its plan live (removed after the merge;
    a failed file's expire with the results bucket's lifecycle rule)."""
    return f"{results_location.rstrip('/')}/{PARTS_DIR}/{name}/"


def command_of(job: Mapping[str, Any]) -> list[str]:
    """A described Batch job's command (its container's, overrides applied)."""
    return list(job.get("container", {}).get("command") or [])


def name_of(job: Mapping[str, Any]) -> str:
    """A described job's name among JOBS (`predict`, `split`, ...): its command's first word; a
    job without a command shown is the predict job its definition runs."""
    command = command_of(job)
    return command[0] if command else PREDICT.name


def job_of(job: Mapping[str, Any]) -> BatchJob | None:
    """Which of the jobs a described Batch job is (None: not one of ours)."""
    return JOBS.get(name_of(job))


def value_of(job: Mapping[str, Any], name: str) -> str | None:
    """A parameter of a described job: its command's option when the command holds a value
    (a container override's), else the job's Batch parameter of that name."""
    command = command_of(job)
    declared = job_of(job)
    parameter = next(
        (p for p in (declared.parameters if declared else ()) if p.name == name),
        Parameter(name, ""),
    )
    for flag in parameter.flags:
        if flag in command[:-1]:
            value = command[command.index(flag) + 1]
            if not value.startswith("Ref::"):
                return value
    value = (job.get("parameters") or {}).get(name)
    return value if isinstance(value, str) else None
