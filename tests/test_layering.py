"""The layering rules of pyproject.toml's [tool.importlinter] hold, and break when violated."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("gan_eval", "gan_eval_plugins", "trainers")


def lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT), str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )


def test_the_contracts_hold():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__", "*.pt", "*.json"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("gan_eval/engine.py", "import gan_eval_plugins.fid", "The core (gan_eval) imports no plugin and no trainer"),
        ("gan_eval_plugins/kid.py", "import trainers.models", "Built-in plugins never import the trainers"),
        ("trainers/models.py", "import gan_eval.cli", "Plugins and trainers use the library, never the CLI"),
        ("gan_eval/engine.py", "import gan_eval.api", "Inside the core, CLI above API above scoring above the engine"),
        ("gan_eval/cli/output.py", "import gan_eval.cli.score", "No import cycles between the CLI's modules"),
    ],
)
def test_each_contract_fails_when_violated(tree_copy, module, line, contract):
    path = tree_copy / module
    original = path.read_text()
    path.write_text(original + f"\n{line}  # a violation\n")
    try:
        result = lint(tree_copy)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    assert f"{contract} BROKEN" in result.stdout, result.stdout
