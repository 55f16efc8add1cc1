"""``gan-eval train ...``: each subcommand lives beside the code it drives and is imported lazily."""

from __future__ import annotations

import importlib

import click

#: subcommand name -> "module:attribute" of its click command
SUBCOMMANDS: dict[str, str] = {
    "classifier": "trainers.classifier:classifier_command",
    "teacher": "trainers.commands:teacher_command",
    "student": "trainers.commands:student_command",
    "sweep": "trainers.sweep:sweep_command",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx, name):
        if name not in SUBCOMMANDS:
            return None
        module, _, attr = SUBCOMMANDS[name].partition(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup)
def train():
    """Train GAN teachers, distilled students and the bundled domain classifiers."""
