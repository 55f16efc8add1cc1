"""The ``gan-eval`` command line: a thin shell over :mod:`gan_eval.api`. Commands parse, call the
library and print; results go to stdout, warnings and progress to stderr. Commands from plugins
(``register_commands``) are added lazily.

Exit codes (docs/cli.md): 0 success; 1 a check failed (``verify`` did not reproduce, ``compare``
found a difference when asked to fail on one); 2 usage error (bad option, unknown metric); 3 bad
input (a file or spec that cannot be read); 4 a plugin failed; 5 any other gan-eval error;
70 an internal error (a bug: please report it); 130 interrupted.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ..version import __version__
from ..errors import GanEvalError
from .output import EXIT_ERROR, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_PLUGIN, exit_code_for


class GanEvalGroup(click.Group):
    """Built-in commands plus those plugins register; every failure becomes one clear line on stderr
    with a documented exit code, never a traceback."""

    def _plugin_commands(self) -> dict[str, click.Command]:
        if not hasattr(self, "_plugin_cache"):
            from ..plugins import load_registry

            try:
                self._plugin_cache = load_registry().commands()
            except GanEvalError:
                self._plugin_cache = {}  # reported when a command that needs plugins runs
        return self._plugin_cache

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugin_commands()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or self._plugin_commands().get(name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except GanEvalError as exc:
            _fail(f"error: {exc}", exit_code_for(exc))
        except KeyboardInterrupt:
            _fail("interrupted", EXIT_INTERRUPTED)
        except SystemExit as exc:  # our own code never raises it: a plugin or generator called sys.exit()
            _fail(f"error: a plugin or generator called sys.exit({exc.code!r}) during the run; nothing was written", EXIT_PLUGIN)
        except RecursionError as exc:
            _fail(f"error: input nested too deeply to process ({exc})", EXIT_INPUT)
        except MemoryError:
            _fail("error: out of memory (reduce --batch-size, or check the input's declared sizes)", EXIT_ERROR)
        except Exception as exc:  # a bug: one line plus where to report it; GAN_EVAL_TRACEBACK=1 shows it
            import os
            import traceback

            if os.environ.get("GAN_EVAL_TRACEBACK"):
                traceback.print_exc()
            _fail(f"internal error: {type(exc).__name__}: {exc} (set GAN_EVAL_TRACEBACK=1 for the traceback and please report it)", EXIT_INTERNAL)


def _fail(message: str, code: int) -> None:
    click.echo(message, err=True)
    raise click.exceptions.Exit(code)


@click.group(cls=GanEvalGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="gan-eval")
def main() -> None:
    """Score generative image models: IS, FID/FD in any feature space, KID, precision/recall,
    variance of Laplacian and any metric a plugin adds.

    Start with 'gan-eval score --help' and 'gan-eval plugins'. Exit codes: 0 ok, 1 a check failed,
    2 usage error, 3 bad input, 4 plugin failure, 5 other error, 70 internal error. Documentation:
    docs/ in the repository (docs/cli.md).
    """


from .compare import compare_command  # noqa: E402
from .features import features_command  # noqa: E402
from .plugins_command import plugins_command  # noqa: E402
from .report import report_command  # noqa: E402
from .score import score_command, verify_command  # noqa: E402
from .stats import stats_command  # noqa: E402
from .weights import weights_command  # noqa: E402

for _command in (compare_command, features_command, plugins_command, report_command, score_command, stats_command, verify_command, weights_command):
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
