"""The errors textbatch raises. Each says what happened and what to do; the CLI prints it as is."""

from __future__ import annotations


class TextbatchError(Exception):
    """Base of every error textbatch raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message

    def as_report(self) -> dict[str, str]:
        report = {"error": type(self).__name__, "message": self.message}
        if self.hint:
            report["hint"] = self.hint
        return report


class ConfigError(TextbatchError):
    """A configuration file or value is invalid."""


class InputError(TextbatchError):
    """An input CSV cannot be read as the job needs it."""


class StorageError(TextbatchError):
    """A local path or S3 object could not be read or written."""

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None):
        super().__init__(message, hint=hint)
        self.status = status


class CloudError(TextbatchError):
    """A deployed (or the local) stage cannot be reached, or did not answer in time."""


class WaitTimeout(CloudError):
    """A job or a file did not reach the awaited state in the time allowed."""


class ArtifactError(TextbatchError):
    """A model artifact is missing, incomplete or fails its checksum."""


class Stopped(TextbatchError):
    """The process was asked to stop (SIGTERM: AWS Batch terminating the job, or its attempt
    timeout; Batch sends SIGKILL 30 s later)."""
