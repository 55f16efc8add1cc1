"""The ``ckpt:`` source: images sampled from a checkpoint written by ``gan-eval train``.

``ckpt:PATH.pt`` (or just ``PATH.pt`` when ``PATH.json`` is beside it; ``ckpt:FOLDER`` when the
folder holds exactly one checkpoint, not counting ``*.best.pt``). Loaded with
``torch.load(weights_only=True)``: a file that needs pickled code is refused. A checkpoint trained
with ``--ema`` is sampled with its moving-average weights unless ``--source-option weights=raw``.
Latent blocks, exact counts and the uint8 conversion come from the generic generator machinery of
``gan_eval_plugins.sources.generators``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gan_eval.errors import InputError
from gan_eval.hashing import sha256_file
from gan_eval.source import SourceOptions
from gan_eval_plugins.sources.generators import _SampledSource, block_latents

from .checkpoint import WEIGHTS, load_generator

#: checkpoint record fields shown in the run record and the HTML report
RECORD_FIELDS = (
    "role",
    "arch",
    "d",
    "loss",
    "lambda",
    "dataset",
    "data",
    "steps",
    "parameters",
    "teacher_parameters",
    "compression_ratio",
    "discriminator_init",
    "ema",
    "training_log",
)


class CheckpointSource(_SampledSource):
    kind = "ckpt"
    extra_options = {**getattr(_SampledSource, "extra_options", {}), "weights": "which generator weights to sample: auto (EMA when stored), ema or raw"}
    summary = "a generator checkpoint from 'gan-eval train' (--num N images, seeded by --seed; EMA weights unless weights=raw)"
    priority = 10

    def __init__(self, target: str, options: SourceOptions):
        super().__init__(target, options)
        weights = options.extra.get("weights", "auto")
        if weights not in WEIGHTS:
            raise InputError(self.spec, f"--source-option weights={weights!r}: choose {', '.join(WEIGHTS)}")
        self.path = self.resolve(Path(target))
        self.generator, self.record = load_generator(self.path, self.device, weights)
        self.weights = self.record["weights"]
        self.latent = int(self.record["architecture"]["latent"])
        self._sha256 = sha256_file(self.path)

    @staticmethod
    def resolve(path: Path) -> Path:
        if not path.is_dir():
            return path
        found = sorted(p for p in path.glob("*.pt") if not p.name.endswith((".train.pt", ".best.pt")))
        if len(found) != 1:
            listing = ", ".join(p.name for p in found) or "none"
            raise InputError(
                path,
                f"a folder must hold exactly one generator checkpoint for ckpt: (found: {listing}); "
                "name the file, or score them all with 'gan-eval sweep-score FOLDER'",
            )
        return found[0]

    @classmethod
    def detect(cls, target: str) -> bool:
        path = Path(target)
        return path.suffix == ".pt" and not path.name.endswith(".train.pt") and path.is_file() and path.with_suffix(".json").is_file()

    def _generate(self, block: int) -> torch.Tensor:
        return self.generator(block_latents(self.seed, block, (self.latent,)).to(self.device))

    def _shape(self) -> tuple[int, int, int]:
        arch = self.record["architecture"]
        return int(arch["channels"]), int(arch["size"]), int(arch["size"])

    def _identity(self) -> str:
        return f"sha256={self._sha256};weights={self.weights}"

    def info(self) -> dict[str, Any]:
        extra = {key: self.record.get(key) for key in RECORD_FIELDS if self.record.get(key) is not None}
        return {
            **super().info(),
            **extra,
            "checkpoint": str(self.path),
            "checkpoint_sha256": self._sha256,
            "train_seed": self.record.get("seed"),
            "latent": self.latent,
            "weights": self.weights,
        }
