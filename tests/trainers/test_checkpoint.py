"""Checkpoints: plain tensors + JSON record, round-trip exactly, pickled code refused and never run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gan_eval.errors import InputError
from gan_eval.source import SourceOptions
from trainers.checkpoint_source import CheckpointSource
from trainers.checkpoint import load_generator, load_torch, record_path, save_generator
from trainers.models import Architecture, build_pair


def write_checkpoint(path, d=4, seed=0, **record):
    spec = Architecture(d=d)
    generator, _ = build_pair(spec, seed)
    base = {
        "role": "teacher",
        "arch": "dcgan",
        "d": d,
        "loss": "gan",
        "dataset": "mnist5k",
        "data": "dataset:mnist5k:train",
        "steps": 0,
        "seed": seed,
        "architecture": spec.as_dict(),
        "parameters": sum(p.numel() for p in generator.parameters()),
    }
    save_generator(path, generator, {**base, **record})
    return generator


def test_round_trip_gives_identical_samples(tmp_path):
    original = write_checkpoint(tmp_path / "g.pt").eval()
    loaded, record = load_generator(tmp_path / "g.pt")
    z = torch.randn(8, 100, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert torch.equal(original(z), loaded(z))
    assert record["d"] == 4 and json.loads(record_path(tmp_path / "g.pt").read_text())["d"] == 4
    first = CheckpointSource(str(tmp_path / "g.pt"), SourceOptions(count=70, seed=11)).read(0, 70).images
    again = CheckpointSource(str(tmp_path / "g.pt"), SourceOptions(count=70, seed=11)).read(0, 70).images
    assert np.array_equal(first, again)


class _MakesMarker:
    """Unpickling this would create a file: proof of code execution if the marker ever appears."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("payload_at", ["record", "generator", "top"])
def test_a_pickle_bearing_checkpoint_is_refused_and_never_executed(tmp_path, payload_at):
    marker = tmp_path / "EXECUTED"
    evil = _MakesMarker(marker)
    payload = {"format": "gan-eval-generator/1", "record": {"d": 4}, "generator": {}}
    if payload_at == "top":
        payload = evil
    else:
        payload[payload_at] = evil
    path = tmp_path / "evil.pt"
    torch.save(payload, path)
    assert not marker.exists()
    with pytest.raises(InputError, match="refused: loading it would need pickled code"):
        load_torch(path)
    with pytest.raises(InputError, match="evil.pt"):
        CheckpointSource(str(path), SourceOptions(count=4))
    assert not marker.exists()


def test_corrupt_and_foreign_files_are_clear_errors(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match="junk.pt: cannot read as a torch checkpoint"):
        load_torch(tmp_path / "junk.pt")
    torch.save({"weight": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="not a gan-eval generator checkpoint"):
        load_generator(tmp_path / "other.pt")
    with pytest.raises(InputError, match="no such checkpoint"):
        load_generator(tmp_path / "missing.pt")


def test_weights_that_do_not_match_the_record_are_refused(tmp_path):
    write_checkpoint(tmp_path / "g.pt", d=4)
    payload = load_torch(tmp_path / "g.pt")
    payload["record"]["architecture"]["d"] = 8
    torch.save(payload, tmp_path / "g.pt")
    with pytest.raises(InputError, match="does not match its architecture record"):
        load_generator(tmp_path / "g.pt")


def test_writes_leave_no_temporary_files(tmp_path):
    write_checkpoint(tmp_path / "g.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.json", "g.pt"]
