"""Spec strings: an explicit ``kind:`` prefix, or detection by the installed source plugins."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from gan_eval.errors import InputError, UsageError
from gan_eval.source import SourceOptions
from gan_eval.specs import open_source, parse_source_extra, split_spec


def test_prefix_less_specs_are_detected(tmp_path, builtin_registry):
    (tmp_path / "imgs").mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "imgs" / "a.png")
    np.save(tmp_path / "x.npy", np.zeros((2, 4, 4), np.uint8))
    np.savez(tmp_path / "x.npz", images=np.zeros((2, 4, 4), np.uint8))
    for spec, kind in [("imgs", "folder"), ("x.npy", "npy"), ("x.npz", "npz")]:
        source = open_source(builtin_registry, str(tmp_path / spec), SourceOptions())
        assert source.kind == kind and source.spec == f"{kind}:{tmp_path / spec}"


def test_an_explicit_prefix_wins_over_detection(tmp_path, builtin_registry):
    odd = tmp_path / "arrays.bin"  # no telling extension: only the prefix says what it is
    with open(odd, "wb") as handle:
        np.save(handle, np.zeros((2, 4, 4), np.uint8))
    assert open_source(builtin_registry, f"npy:{odd}", SourceOptions()).kind == "npy"
    assert split_spec("dataset:mnist5k:test", {"dataset"}) == ("dataset", "mnist5k:test")
    assert split_spec("C:/imgs", {"dataset"}) == (None, "C:/imgs")


def test_unrecognised_specs_list_the_kinds(tmp_path, builtin_registry):
    with pytest.raises(InputError, match=r"not recognised as any source") as caught:
        open_source(builtin_registry, str(tmp_path / "missing"), SourceOptions())
    assert caught.value.where == str(tmp_path / "missing")
    assert all(f"{kind}:" in caught.value.problem for kind in ("dataset", "folder", "idx", "npy", "npz"))


def test_source_options_parse(tmp_path):
    assert parse_source_extra(["key=images", "layout=NCHW", "empty="]) == {"key": "images", "layout": "NCHW", "empty": ""}
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_source_extra(["novalue"])
