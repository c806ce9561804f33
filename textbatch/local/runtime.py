"""How the local cloud runs a Batch job: inside the image its job definition names, with a
container engine, as Batch runs it on an instance; or, where there is no engine (or the images
are older than the code), as a process of this machine's virtualenv, saying why.

`textbatch local up --runtime auto|container|process` chooses (auto: containers when they can
run); the local stack's `LocalJobRuntime` output says which, for `jobs` and `status`.
"""

from __future__ import annotations

import subprocess
from dataclasses import asdict, dataclass, field

from textbatch.errors import TextbatchError
from textbatch.local import images

RUNTIME_OUTPUT = "LocalJobRuntime"  # written by the local cloud, read by `jobs` and `status`
OWNER_LABEL = "textbatch.local-cloud"  # each job container's: the local cloud that started it
MODES = ("auto", "container", "process")
# What Batch writes in an attempt's container.reason when the kernel killed it for memory
OUT_OF_MEMORY = "OutOfMemoryError: Container killed due to memory usage"
CANNOT_START = "CannotStartContainerError"
ENGINE_FAILED = 125  # podman's and docker's own exit code when the container did not start


class RuntimeUnavailable(TextbatchError):
    """Containers were asked for and cannot run here."""


@dataclass(frozen=True)
class ContainerSpec:
    """One attempt's container, from the job definition and the submission's overrides."""

    image: str
    command: list[str]
    environment: dict[str, str]
    vcpus: float | None = None
    memory_mib: int | None = None
    read_only: bool = False
    scratch: tuple[str, ...] = ()  # container paths of volumes with no host path (Docker's own)
    user: str | None = None
    init: bool = False  # an init process as PID 1 (the definition's initProcessEnabled)
    owner: str | None = None  # OWNER_LABEL's value: the local cloud's state directory
    binds: tuple[tuple[str, str], ...] = ()  # (host path, container path): the call log's


@dataclass(frozen=True)
class Runtime:
    engine: tuple[str, ...] | None  # None: host processes
    why: str  # in words: why this runtime
    images: dict[str, str] = field(default_factory=dict)

    @property
    def containers(self) -> bool:
        return self.engine is not None

    def describe(self) -> str:
        if self.engine is None:
            return f"host processes ({self.why})"
        names = ", ".join(self.images.values())
        return f"containers ({' '.join(self.engine)}: {names}; {self.why})"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def run_command(self, name: str, spec: ContainerSpec) -> list[str]:
        """`podman run` (or docker) for one attempt, as the ECS agent starts a Batch container.
        The environment's values are not on the command line: `--env NAME` takes each from the
        engine's own environment, which the caller sets to spec.environment."""
        assert self.engine is not None
        command = [*self.engine, "run", "--name", name, "--pull", "never", "--network", "host"]
        if spec.owner:
            command += ["--label", f"{OWNER_LABEL}={spec.owner}"]
        if spec.user:
            command += ["--user", spec.user]
        if spec.init:
            command += ["--init"]
        if spec.vcpus:
            command += ["--cpus", f"{spec.vcpus:g}"]
        if spec.memory_mib:  # a hard limit, no swap: the kernel kills the job past it
            command += ["--memory", f"{spec.memory_mib}m", "--memory-swap", f"{spec.memory_mib}m"]
        if spec.read_only:
            command += ["--read-only"]
        for path in spec.scratch:
            command += ["--volume", path]
        for host, inside in spec.binds:
            command += ["--volume", f"{host}:{inside}"]
        for name_ in spec.environment:
            command += ["--env", name_]
        return [*command, spec.image, *spec.command]

    def signal_command(self, name: str, signal: str) -> list[str]:
        assert self.engine is not None
        return [*self.engine, "kill", "--signal", signal, name]

    def remove_command(self, name: str) -> list[str]:
        assert self.engine is not None
        return [*self.engine, "rm", "--force", "--volumes", name]

    def remove_owned(self, owner: str) -> int:
        """Stop and remove every job container a local cloud started (`local down` while jobs
        run: their attempts end with the cloud); how many there were."""
        if self.engine is None:
            return 0
        listed = subprocess.run(
            [*self.engine, "ps", "--all", "--quiet", "--filter", f"label={OWNER_LABEL}={owner}"],
            capture_output=True,
            text=True,
        )
        ids = listed.stdout.split()
        if ids:  # kill first: `rm --force` may wait a stop timeout, the cloud is going now
            subprocess.run([*self.engine, "kill", *ids], capture_output=True)
            subprocess.run([*self.engine, "rm", "--force", "--volumes", *ids], capture_output=True)
        return len(ids)


def choose(mode: str = "auto") -> Runtime:
    """The runtime `mode` means here. `container` fails, saying why, where containers cannot run;
    `auto` then falls back to host processes and says why in the runtime."""
    if mode not in MODES:
        raise ValueError(f"runtime {mode!r} is not one of {MODES}")
    if mode == "process":
        return Runtime(None, "asked for: --runtime process")
    engine = images.engine()
    if engine is None:
        why = "no container engine: install podman or docker, then `make images`"
    else:
        digest = images.source_digest()
        stale = [i for i in images.IMAGES.values() if images.built_from(engine, i) != digest]
        why = f"images {', '.join(stale)} missing or older than the code: run `make images`"
        if not stale:
            return Runtime(tuple(engine), "each job in its definition's image", dict(images.IMAGES))
    if mode == "container":
        raise RuntimeUnavailable(f"jobs cannot run in containers here: {why}")
    return Runtime(None, why)
