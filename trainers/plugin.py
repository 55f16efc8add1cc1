"""The trainers' gan-eval plugin: adds ``gan-eval train``, ``gan-eval sweep-score`` and ``gan-eval demo``."""

from __future__ import annotations

import gan_eval


@gan_eval.hookimpl
def register_commands():
    from .cli import train
    from .demo import demo_command
    from .sweep_score import sweep_score_command

    return [train, sweep_score_command, demo_command]
