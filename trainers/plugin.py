"""The trainers' gan-eval plugin: adds ``gan-eval train``, ``gan-eval sweep-score``, ``gan-eval demo``
and the ``ckpt:`` source for the checkpoints they write."""

from __future__ import annotations

import gan_eval


@gan_eval.hookimpl
def register_commands():
    from .cli import train
    from .demo import demo_command
    from .sweep_score import sweep_score_command

    return [train, sweep_score_command, demo_command]


@gan_eval.hookimpl
def register_sources():
    from .checkpoint_source import CheckpointSource

    return [CheckpointSource]
