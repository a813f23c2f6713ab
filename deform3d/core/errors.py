"""User-facing errors. Owns the exception types the CLI turns into one line and an exit status.

Imports nothing of the package, so every module (torch side, numpy side, GL side) can raise it.

Exit statuses (the CLI's, and docs/bad-input.md's table): 2 for usage (a bad option, value or input
file: what the user typed or gave is wrong), 1 for a runtime fault (what the user asked is fine but
this machine or this run could not do it: no ffmpeg, no EGL, a full disk, a diverged training), 130
for SIGINT and 143 for SIGTERM.
"""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: a bad option, value or file.

    The message is one line that says what is wrong and how to fix it. The CLI prints it as
    ``deform3d: error: <message>`` and exits with ``exit_code`` (2), without a traceback.
    """

    exit_code = 2


class RuntimeFault(UsageError):
    """A sound request this machine or run could not carry out (no ffmpeg or EGL, a full disk, a
    diverged training): one line, like a UsageError, but exit status 1.

    A UsageError subclass so that every ``except UsageError`` (the API's one-line errors, the
    notebook's messages) treats it the same way.
    """

    exit_code = 1


class ConfigError(UsageError):
    """A configuration value out of range. ``field`` is the dataclass field (and API parameter)."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def for_cli(self) -> str:
        return f"--{self.field.replace('_', '-')}: {self.message}"


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: stop now and leave nothing behind. A scheduler's or the system's kill, not
    a request for a shorter video (that is SIGINT's, for ``record``); the previous file under an
    output's name survives. A KeyboardInterrupt, so code that stops cleanly on Ctrl-C stops on it too."""


class DivergedWarning(UserWarning):
    """Training ended far worse than it began (finite, so the run is kept and drawn: a lesson in
    itself). The CLI prints it as ``deform3d: warning: <message>``. Non-finite weights are a
    RuntimeFault instead: nothing could be drawn."""
