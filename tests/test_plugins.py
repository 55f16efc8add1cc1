"""Plugin discovery (entry points, --plugin FILE.py, autoload switch) and errors that name the plugin."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_eval.cli.output import EXIT_PLUGIN
from gan_eval.errors import PluginError, UsageError
from gan_eval.plugins import DISABLE_AUTOLOAD_ENV, load_registry

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "docs" / "examples" / "gan-eval-example-plugin"
EXAMPLE_MODULE = EXAMPLE / "gan_eval_brightness.py"
BUILTINS = {"laplacian", "folder", "arrays", "datasets"}

WORKING_METRIC = """
import gan_eval

class Ones(gan_eval.Metric):
    name, primary = "{metric}", "value"

    def state_spec(self):
        return {{"n": "sum"}}

    def update(self, state, inputs):
        state.add("n", len(inputs["images"]))

    def compute(self, generated, reference):
        return {{"value": float(generated.get("n"))}}
"""


def gan_eval_command() -> list[str]:
    script = Path(sys.executable).with_name("gan-eval")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gan_eval"]


def run_gan_eval(*args: str, pythonpath: Path, disable_autoload: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "OMP_NUM_THREADS": "1"}
    env.pop(DISABLE_AUTOLOAD_ENV, None)
    if disable_autoload:
        env[DISABLE_AUTOLOAD_ENV] = "1"
    return subprocess.run([*gan_eval_command(), *args], env=env, capture_output=True, text=True, timeout=300)


def write_plugin_file(path: Path, body: str) -> Path:
    path.write_text(textwrap.dedent(body))
    return path


def write_distribution(site: Path, dist: str, version: str, entry_points: dict[str, str], modules: dict[str, str]) -> None:
    """A minimal installed distribution (dist-info with entry points) plus its modules, in ``site``."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "\n".join(f"{name} = {value}" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[gan_eval]\n{lines}\n")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))


# --- the example package, installed for real ---------------------------------------------------------


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory) -> Path:
    """docs/examples/gan-eval-example-plugin pip-installed into a fresh --target directory."""
    work = tmp_path_factory.mktemp("example")
    source = shutil.copytree(EXAMPLE, work / "src")  # build in a copy: the repository stays clean
    target = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", "--target", str(target), str(source)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return target


def test_example_package_is_listed_as_an_entry_point_with_its_version(installed_example):
    listing = run_gan_eval("plugins", "--json", pythonpath=installed_example)
    assert listing.returncode == 0, listing.stderr
    plugins = {p["name"]: p for p in json.loads(listing.stdout)}
    assert plugins["brightness"]["origin"] == "entry point"
    assert plugins["brightness"]["version"] == "0.1.0"
    assert plugins["brightness"]["provides"] == {"metrics": ["brightness"]}
    assert plugins["laplacian"]["origin"] == "built-in"


def test_example_metric_runs_in_score_and_is_right(installed_example, mnist_test_digits):
    result = run_gan_eval("score", "dataset:mnist5k:test", "-m", "brightness", "--json", "-q", "--device", "cpu", pythonpath=installed_example)
    assert result.returncode == 0, result.stderr
    (entry,) = json.loads(result.stdout)["results"]
    assert entry["name"] == "brightness" and entry["plugin"] == "brightness"
    assert entry["values"]["mean"] == pytest.approx(mnist_test_digits[0].astype(np.float64).mean(), rel=1e-12)


def test_autoload_switch_loads_only_the_builtins(installed_example):
    listing = run_gan_eval("plugins", "--json", pythonpath=installed_example, disable_autoload=True)
    assert listing.returncode == 0, listing.stderr
    plugins = {p["name"]: p for p in json.loads(listing.stdout)}
    assert "brightness" not in plugins
    assert BUILTINS <= set(plugins) and {p["origin"] for p in plugins.values()} == {"built-in"}


# --- --plugin FILE.py ------------------------------------------------------------------------------------


def test_plugin_file_is_listed_and_its_metric_scores(run_cli, image_folder):
    folder = image_folder(count=5, size=(6, 7), seed=3)
    listing = run_cli("plugins", "--json", "--plugin", EXAMPLE_MODULE)
    assert listing.exit_code == 0, listing.output
    info = {p["name"]: p for p in json.loads(listing.output)}["gan_eval_brightness"]
    assert info["origin"] == "file" and info["location"] == str(EXAMPLE_MODULE)
    text = run_cli("plugins", "--plugin", EXAMPLE_MODULE).output
    assert "gan_eval_brightness  [file, version ?]" in text and "metric: brightness - mean pixel value" in text
    result = run_cli("score", folder, "-m", "brightness", "--plugin", EXAMPLE_MODULE, "--json", "-q")
    assert result.exit_code == 0, result.output
    pixels = np.stack([np.asarray(Image.open(p)) for p in sorted(folder.iterdir())])
    assert json.loads(result.stdout)["results"][0]["values"]["mean"] == pytest.approx(pixels.mean(), rel=1e-12)


def test_plugin_files_still_load_with_autoload_disabled(tmp_path, monkeypatch):
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    registry = load_registry([EXAMPLE_MODULE])
    assert "brightness" in registry.metrics() and "laplacian" in registry.metrics()


def test_missing_plugin_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        load_registry([tmp_path / "nope.py"], autoload=False)


# --- entry points, in-process ----------------------------------------------------------------------------


def test_entry_point_plugin_is_discovered_and_switch_hides_it(tmp_path, monkeypatch):
    site = tmp_path / "site"
    write_distribution(
        site,
        "acme-metrics",
        "2.3.4",
        {"acme": "acme_ok_plugin"},
        {
            "acme_ok_plugin": WORKING_METRIC.format(metric="acme_count") + "\n@gan_eval.hookimpl\ndef register_metrics():\n    return [Ones]\n",
        },
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
    registry = load_registry()
    assert registry.plugins["acme"].as_dict() == {
        "name": "acme",
        "origin": "entry point",
        "version": "2.3.4",
        "location": "acme_ok_plugin",
        "provides": {"metrics": ["acme_count"]},
    }
    assert registry.provider("metrics", "acme_count") == "acme"
    for value in ("1", "true", "yes"):
        monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, value)
        registry = load_registry()
        assert "acme" not in registry.plugins and BUILTINS <= set(registry.plugins)


def test_entry_point_that_fails_to_import_is_named(tmp_path, monkeypatch, run_cli):
    site = tmp_path / "site"
    write_distribution(
        site,
        "acme-broken",
        "0.1",
        {"acme_broken": "acme_broken_plugin"},
        {
            "acme_broken_plugin": "import a_module_that_does_not_exist\n",
        },
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
    with pytest.raises(PluginError, match=r"plugin 'acme_broken': failed to import 'acme_broken_plugin': ModuleNotFoundError"):
        load_registry()
    result = run_cli("plugins")
    assert result.exit_code == EXIT_PLUGIN and "plugin 'acme_broken'" in result.output
    assert "Traceback" not in result.output
    assert run_cli("plugins", env={DISABLE_AUTOLOAD_ENV: "1"}).exit_code == 0  # the way out


# --- broken plugin files ------------------------------------------------------------------------------------

BROKEN = {
    "import_error": ("import nonexistent_module_xyz\n", r"failed to import: ModuleNotFoundError"),
    "syntax_error": ("def broken(:\n", r"failed to import: SyntaxError"),
    "hook_raises": (
        "import gan_eval\n@gan_eval.hookimpl\ndef register_metrics():\n    raise RuntimeError('no metrics today')\n",
        r"register_metrics\(\) raised RuntimeError: no metrics today",
    ),
    "misspelled_hook": (
        "import gan_eval\n@gan_eval.hookimpl\ndef register_metric():\n    return []\n",
        r"(?s)invalid hook implementation: .*register_metric",
    ),
    "wrong_hook_arguments": (
        "import gan_eval\n@gan_eval.hookimpl\ndef register_metrics(config):\n    return []\n",
        r"(?s)invalid hook implementation: .*config",
    ),
    "nameless_class": (
        "import gan_eval\nclass M(gan_eval.Metric):\n    pass\n@gan_eval.hookimpl\ndef register_metrics():\n    return [M]\n",
        r"register_metrics\(\) returned .* without a 'name'",
    ),
    "clashing_name": (
        WORKING_METRIC.format(metric="laplacian") + "\n@gan_eval.hookimpl\ndef register_metrics():\n    return [Ones]\n",
        r"'laplacian' is already provided by plugin 'laplacian'",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_plugin_file_fails_with_its_name(case, tmp_path, run_cli):
    body, problem = BROKEN[case]
    path = write_plugin_file(tmp_path / f"{case}.py", body)
    with pytest.raises(PluginError, match=problem) as caught:
        load_registry([path], autoload=False)
    assert case in caught.value.plugin
    result = run_cli("plugins", "--plugin", path)
    assert result.exit_code == EXIT_PLUGIN and case in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("method", ["update", "compute"])
def test_a_metric_raising_at_run_time_names_its_plugin(method, tmp_path, run_cli, image_folder):
    body = WORKING_METRIC.format(metric="fragile") + textwrap.dedent(f"""
        def failing(self, *args):
            raise KeyError("missing thing")

        Ones.{method} = failing

        @gan_eval.hookimpl
        def register_metrics():
            return [Ones]
        """)
    path = write_plugin_file(tmp_path / "fragile_plugin.py", body)
    result = run_cli("score", image_folder(count=3), "-m", "fragile", "--plugin", path, "-q")
    assert result.exit_code == EXIT_PLUGIN
    assert f"plugin 'fragile_plugin': metric 'fragile' failed in {method}(): KeyError" in result.output
