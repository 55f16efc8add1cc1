"""safe_child: a name read from a file (a manifest's label) never leads outside its folder."""

from __future__ import annotations

import json

import pytest

from gan_eval.errors import InputError
from gan_eval.paths import safe_child


@pytest.mark.parametrize("name", ["run.json", "sub/run.json", "a b.json", "..json", "x..y.json"])
def test_names_inside_the_folder_are_kept(tmp_path, name):
    assert safe_child(tmp_path, name) == tmp_path / name


@pytest.mark.parametrize("name", ["../run.json", "sub/../../run.json", "/etc/passwd", "..", "", "a\0b", "C:\\x.json", "..\\up.json"])
def test_names_that_escape_are_refused_naming_the_source_file(tmp_path, name):
    with pytest.raises(InputError, match="would leave its folder|not a usable file name") as caught:
        safe_child(tmp_path / "records", name, tmp_path / "sweep.json")
    assert caught.value.where == str(tmp_path / "sweep.json")


def test_a_symlink_inside_the_folder_cannot_lead_out(tmp_path):
    (tmp_path / "records").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "records" / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(InputError, match="through a symbolic link"):
        safe_child(tmp_path / "records", "link/run.json")


def test_sweep_score_refuses_a_label_that_escapes_the_records_folder(tmp_path):
    """The manifest's label became a path verbatim: '../x' or '/abs' wrote records anywhere."""
    from trainers.sweep_score import score_manifest

    (tmp_path / "g.pt").write_bytes(b"")
    manifest = {"schema": "gan-eval-sweep/1", "runs": [{"label": "../../escaped", "checkpoint": "g.pt"}]}
    (tmp_path / "sweep.json").write_text(json.dumps(manifest))

    with pytest.raises(InputError, match="would leave its folder"):  # refused before anything is scored or written
        score_manifest(None, tmp_path / "sweep.json", manifest, lambda spec: object(), records_dir=tmp_path / "records")
    assert not (tmp_path.parent / "escaped.json").exists()
