"""The trainers' gan-eval plugin: adds the ``gan-eval train`` command group."""

from __future__ import annotations

import gan_eval


@gan_eval.hookimpl
def register_commands():
    from .cli import train

    return [train]
