"""User-facing errors. Owns the one exception type the CLI turns into exit code 2.

Imports nothing of the package, so every module (torch side, numpy side, GL side) can raise it.
"""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: a bad option, file or environment.

    The message is one line that says what is wrong and how to fix it. The CLI prints it as
    ``deform3d: error: <message>`` and exits with code 2, without a traceback.
    """


class ConfigError(UsageError):
    """A configuration value out of range. ``field`` is the dataclass field (and API parameter)."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def for_cli(self) -> str:
        return f"--{self.field.replace('_', '-')}: {self.message}"
