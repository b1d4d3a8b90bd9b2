"""Typed errors of the orchestrator."""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario (file, overrides or values) is invalid.

    ``problems`` holds one line per problem: ``field.path: what is wrong; got
    VALUE``. All problems of one scenario are collected before raising.
    """

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class RunInterrupted(RuntimeError):
    """The run was stopped by SIGINT or SIGTERM."""


class RunFailed(RuntimeError):
    """A simulator raised; the partial output path is in ``partial_path``."""

    def __init__(self, message: str, partial_path: str | None = None):
        self.partial_path = partial_path
        super().__init__(message)


class OutputPathError(ValueError):
    """The result path (``-o``) cannot be written: a folder, no permission, too long."""


class OutputBusy(RuntimeError):
    """Another run holds the lock on the same result path."""


class RecorderWriteError(RunFailed):
    """The result file could not be written (disk full, I/O error).

    The file is closed with ``status = failed`` where the file system allows
    it; ``partial_path`` names it.
    """
