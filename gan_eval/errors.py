"""Errors a user can act on: each says what was wrong, where, and what to do."""

from __future__ import annotations

from pathlib import Path


class GanEvalError(Exception):
    """Base class for every error gan-eval reports to a user (the CLI prints it without a traceback)."""


class InputError(GanEvalError):
    """Bad input data: names the file (or spec) and the problem."""

    def __init__(self, where: str | Path, problem: str):
        self.where = str(where)
        self.problem = problem
        super().__init__(f"{self.where}: {problem}")


class PluginError(GanEvalError):
    """A plugin failed: names the plugin so a third-party bug never looks like a gan-eval bug."""

    def __init__(self, plugin: str, problem: str):
        self.plugin = plugin
        self.problem = problem
        super().__init__(f"plugin {plugin!r}: {problem}")


class UsageError(GanEvalError):
    """The command line or API call asks for something that cannot be done."""
