"""One training loop for teachers, distilled students and from-scratch controls.

Losses:
- ``gan``: non-saturating GAN (DCGAN).
- ``wgan-clip``: WGAN with weight clipping (W-DCGAN, RMSprop, 5 critic steps per generator step).
- ``wgan-gp``: WGAN with gradient penalty (Adam, 5 critic steps, critic without batch norm).
- ``mse``: distillation, eq. 3 of Aguinaldo et al.: mean ‖S(z) − T(z)‖² over shared latents z.
- ``joint``: eq. 4: λ·MSE + (1 − λ)·non-saturating adversarial loss against a student discriminator.

Every random draw of step k comes from a stream seeded by (seed, k), and weights are initialised from
the seed, so a run resumed from a checkpoint continues exactly as an uninterrupted one would (same
platform; on CUDA, only with deterministic algorithms). That includes the generator EMA, the
evaluations and the metrics log, which live in the training state too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from gan_eval import __version__
from gan_eval.errors import InputError, UsageError

from . import training_log
from .checkpoint import (
    CHECKPOINT_FORMAT,
    TRAIN_STATE_FORMAT,
    file_sha256,
    load_generator,
    load_torch,
    read_checkpoint,
    record_path,
    remove_stale_temporaries,
    save_generator,
    save_torch,
    train_state_path,
)
from .data import TrainingData, load_training_images, stream
from .ema import GeneratorEMA
from .evaluation import Scorer, Scores
from .models import Architecture, Discriminator, build_pair, count_parameters
from .samples import write_grid

ADVERSARIAL_LOSSES = ("gan", "wgan-clip", "wgan-gp")
DISTILLATION_LOSSES = ("mse", "joint")
ROLES = ("teacher", "student", "scratch")
CRITIC_SCHEDULES = ("constant", "wgan")
DISC_INITS = ("fresh", "teacher")
#: config fields that change neither the weights nor the log: free to differ when resuming
FREE_ON_RESUME = ("steps", "checkpoint_every", "device", "sample_every")

#: (learning rate, Adam betas or None for RMSprop, critic steps) per loss
DEFAULTS = {
    "gan": (2e-4, (0.5, 0.999), 1),
    "wgan-clip": (5e-5, None, 5),
    "wgan-gp": (1e-4, (0.5, 0.9), 5),
    "mse": (5e-3, (0.9, 0.999), 0),
    "joint": (2e-4, (0.5, 0.999), 1),
}


@dataclass
class TrainConfig:
    """Everything that determines a training run (stored in the checkpoint record)."""

    role: str = "teacher"
    loss: str = "gan"
    d: int = 16
    data: str = "dataset:mnist5k:train"
    steps: int = 1000
    batch_size: int = 64
    seed: int = 0
    latent: int = 100
    lr: float | None = None
    lam: float = 0.5
    teacher: str | None = None
    clip: float = 0.01
    gp_weight: float = 10.0
    n_critic: int | None = None
    checkpoint_every: int = 200
    device: str = "cpu"
    #: image size to train at (training images are resized to it); None: the data's own size
    size: int | None = None
    #: "wgan": the reference WGAN schedule (100 critic steps for the first 25 generator steps and
    #: every 500th, else n_critic); "constant": always n_critic
    critic_schedule: str = "constant"
    #: students' discriminator: "fresh" (new, the student's d) or "teacher" (the teacher's trained critic)
    disc_init: str = "fresh"
    #: decay of the generator's exponential moving average (None: no EMA)
    ema: float | None = None
    #: evaluate every N steps (and at the last step) with the library API; None: never
    eval_every: int | None = None
    eval_metrics: list[str] = dataclasses.field(default_factory=lambda: ["fid", "is"])
    eval_num: int = 1000
    #: reference of the evaluation; None: the training data's test split
    eval_reference: str | None = None
    eval_extractor: str = "auto"
    eval_seed: int = 0
    #: keep NAME.best.pt for the best value of this metric (fid, is, min:KEY, max:KEY)
    keep_best: str | None = None
    #: write a sample grid every N steps; None: never
    sample_every: int | None = None
    preset: str | None = None

    def validate(self) -> None:
        if self.role not in ROLES:
            raise UsageError(f"unknown role {self.role!r} (choose {', '.join(ROLES)})")
        allowed = DISTILLATION_LOSSES if self.role == "student" else ADVERSARIAL_LOSSES
        if self.loss not in allowed:
            raise UsageError(f"a {self.role} is trained with loss {' or '.join(allowed)}, not {self.loss!r}")
        if self.role == "student" and not self.teacher:
            raise UsageError("a student needs --teacher CHECKPOINT")
        if not self.data and self.loss != "mse":
            raise UsageError(f"no training data: pass --data SPEC{' (the ' + self.preset + ' data does not install offline)' if self.preset else ''}")
        if not 0.0 <= self.lam <= 1.0:
            raise UsageError(f"lambda must be in [0, 1], not {self.lam}")
        if self.steps < 1 or self.batch_size < 1 or self.checkpoint_every < 1:
            raise UsageError("steps, batch size and checkpoint interval must be positive")
        if self.critic_schedule not in CRITIC_SCHEDULES:
            raise UsageError(f"critic schedule {self.critic_schedule!r}: choose {', '.join(CRITIC_SCHEDULES)}")
        if self.disc_init not in DISC_INITS:
            raise UsageError(f"--disc-init {self.disc_init!r}: choose {', '.join(DISC_INITS)}")
        if self.disc_init == "teacher" and self.role != "student":
            raise UsageError("--disc-init teacher is for students (a teacher or scratch run has no teacher critic)")
        if self.ema is not None and not 0.0 <= self.ema < 1.0:
            raise UsageError(f"--ema {self.ema}: the decay must be in [0, 1), e.g. 0.999")
        for name in ("eval_every", "sample_every"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be positive")
        if self.eval_every is not None and (not self.eval_metrics or self.eval_num < 1):
            raise UsageError("--eval-every needs at least one --eval-metrics name and a positive --eval-num")
        if self.keep_best and self.eval_every is None:
            raise UsageError("--keep-best needs evaluations: pass --eval-every STEPS")
        if self.keep_best:
            training_log.BestRule(self.keep_best).mode()  # an unknown direction is an error now, not at the first evaluation

    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULTS[self.loss][0]

    def critic_steps(self, step: int = 0) -> int:
        """Critic updates before generator step ``step`` (0-based)."""
        steps = self.n_critic if self.n_critic is not None else DEFAULTS[self.loss][2]
        if self.critic_schedule == "wgan" and self.loss.startswith("wgan") and steps and (step < 25 or step % 500 == 0):
            return 100
        return steps

    def reference(self) -> str:
        """The evaluation's reference: ``--eval-ref``, else the training dataset's test split."""
        if self.eval_reference:
            return self.eval_reference
        if self.data.startswith("dataset:") and self.data.endswith(":train"):
            return self.data[: -len(":train")] + ":test"
        raise UsageError(f"--eval-every: pass --eval-ref REFERENCE (no test split is known for {self.data!r})")

    def identity(self) -> dict[str, Any]:
        """The fields that must match to resume a run (not steps, intervals, device or sample grids)."""
        data = dataclasses.asdict(self)
        for key in FREE_ON_RESUME:
            data.pop(key)
        return data


def identity_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Fields whose saved value differs; a field a state predates counts as its default."""
    defaults = TrainConfig().identity()
    return sorted(k for k in current if saved.get(k, defaults.get(k)) != current[k])


class Trainer:
    """Models, optimisers and the step function of one run."""

    def __init__(self, config: TrainConfig, scorer: Scorer | None = None):
        config.validate()
        self.config = config
        self.device = torch.device(config.device)
        self.teacher = None
        self.teacher_record: dict[str, Any] | None = None
        self.data: TrainingData | None = None
        if config.role == "student":
            self.teacher, self.teacher_record = load_generator(config.teacher, self.device)
            self.teacher.requires_grad_(False)
            t_arch = self.teacher_record["architecture"]
            arch = Architecture(arch=t_arch["arch"], d=config.d, latent=t_arch["latent"], size=t_arch["size"], channels=t_arch["channels"])
            config.latent = t_arch["latent"]
        if config.loss != "mse":
            size = self.teacher_record["architecture"]["size"] if self.teacher_record is not None else config.size
            self.data = load_training_images(config.data, size=size)
        if config.role != "student":
            assert self.data is not None
            arch = Architecture(
                arch="dcgan" if config.loss == "gan" else "wdcgan",
                d=config.d,
                latent=config.latent,
                size=self.data.size,
                channels=self.data.channels,
                critic_norm="none" if config.loss == "wgan-gp" else "batch",
            )
        elif self.data is not None and (self.data.size, self.data.channels) != (arch.size, arch.channels):
            raise InputError(config.data, f"images are {self.data.channels}×{self.data.size}² but the teacher makes {arch.channels}×{arch.size}²")
        self.arch = arch
        generator, discriminator = build_pair(arch, config.seed)
        self.disc_arch: Architecture | None = arch
        if config.loss == "mse":
            discriminator, self.disc_arch = None, None
        elif config.disc_init == "teacher":
            discriminator, self.disc_arch = self._teacher_critic()
        self.generator = generator.to(self.device)
        self.discriminator = discriminator.to(self.device) if discriminator is not None else None
        self.opt_g = self._optimizer(self.generator)
        self.opt_d = self._optimizer(self.discriminator) if self.discriminator is not None else None
        self.ema = GeneratorEMA(self.generator, config.ema) if config.ema is not None else None
        self.step = 0
        self.last_losses: dict[str, float] = {}
        self.log_rows: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self._scorer = scorer

    def _teacher_critic(self) -> tuple[Discriminator, Architecture]:
        """The teacher's trained critic, whole: its own width (the teacher's d), from ``TEACHER.train.pt``.

        Only the generator is compressed and deployed, so the critic need not shrink with it; a
        critic of the student's width cannot hold the teacher's weights (every tensor has another
        shape), and a slice of them is not the function the teacher's critic learnt."""
        path = train_state_path(self.config.teacher)
        if self.teacher_record.get("loss") != "gan":
            raise UsageError(
                f"--disc-init teacher: the teacher was trained with loss {self.teacher_record.get('loss')!r}; the joint loss's "
                "non-saturating discriminator can start only from a 'gan' teacher's discriminator"
            )
        state = load_torch(path)
        if state.get("format") != TRAIN_STATE_FORMAT or not isinstance(state.get("discriminator"), dict):
            raise InputError(path, "--disc-init teacher needs the teacher's training state with its discriminator (written by 'gan-eval train')")
        arch = Architecture(**self.teacher_record["architecture"])
        critic = Discriminator(arch)
        try:
            critic.load_state_dict(state["discriminator"])
        except RuntimeError as exc:
            raise InputError(path, f"the discriminator does not match the teacher's architecture record: {exc}") from None
        return critic, arch

    @property
    def sampler(self) -> torch.nn.Module:
        """The generator that is sampled and scored: the EMA when there is one."""
        return self.ema.module if self.ema is not None else self.generator

    def scorer(self) -> Scorer:
        if self._scorer is None:
            from .evaluation import LibraryScorer

            c = self.config
            self._scorer = LibraryScorer(
                c.eval_metrics, c.reference(), num=c.eval_num, seed=c.eval_seed, latent=self.arch.latent, extractor=c.eval_extractor, device=str(self.device)
            )
        return self._scorer

    def _optimizer(self, module: torch.nn.Module) -> torch.optim.Optimizer:
        betas = DEFAULTS[self.config.loss][1]
        if betas is None:
            return torch.optim.RMSprop(module.parameters(), lr=self.config.learning_rate())
        return torch.optim.Adam(module.parameters(), lr=self.config.learning_rate(), betas=betas)

    # --- one step ---------------------------------------------------------------------------------
    def _draw(self, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        n = self.config.batch_size
        z = torch.randn(n, self.arch.latent, generator=rng).to(self.device)
        real = None
        if self.data is not None:
            index = torch.randint(len(self.data.images), (n,), generator=rng)
            real = self.data.images[index].to(self.device)
        return z, real

    def train_step(self) -> dict[str, float]:
        rng = stream(self.config.seed, "step", self.step)
        loss_name = self.config.loss
        losses: dict[str, float] = {}
        if self.discriminator is not None:
            for _ in range(self.config.critic_steps(self.step)):
                z, real = self._draw(rng)
                losses["d"] = self._critic_step(z, real, rng)
        z, real = self._draw(rng)
        self.opt_g.zero_grad(set_to_none=True)
        fake = self.generator(z)
        terms = []
        if loss_name in ("mse", "joint"):
            with torch.no_grad():
                target = self.teacher(z)
            mse = F.mse_loss(fake, target)
            losses["mse"] = float(mse.detach())
            terms.append(mse if loss_name == "mse" else self.config.lam * mse)
        if loss_name != "mse":
            score = self.discriminator(fake)
            adversarial = -score.mean() if loss_name.startswith("wgan") else F.binary_cross_entropy_with_logits(score, torch.ones_like(score))
            losses["g"] = float(adversarial.detach())
            terms.append(adversarial if loss_name != "joint" else (1.0 - self.config.lam) * adversarial)
        sum(terms).backward()
        self.opt_g.step()
        if self.ema is not None:
            self.ema.update(self.generator)
        self.step += 1
        self.last_losses = losses
        return losses

    def _critic_step(self, z: torch.Tensor, real: torch.Tensor, rng: torch.Generator) -> float:
        loss_name = self.config.loss
        self.opt_d.zero_grad(set_to_none=True)
        with torch.no_grad():
            fake = self.generator(z)
        real_score, fake_score = self.discriminator(real), self.discriminator(fake)
        if loss_name.startswith("wgan"):
            loss = fake_score.mean() - real_score.mean()
            if loss_name == "wgan-gp":
                loss = loss + self.config.gp_weight * self._gradient_penalty(real, fake, rng)
        else:
            loss = F.binary_cross_entropy_with_logits(real_score, torch.ones_like(real_score)) + F.binary_cross_entropy_with_logits(
                fake_score, torch.zeros_like(fake_score)
            )
        loss.backward()
        self.opt_d.step()
        if loss_name == "wgan-clip":
            with torch.no_grad():
                for p in self.discriminator.parameters():
                    p.clamp_(-self.config.clip, self.config.clip)
        return float(loss.detach())

    def _gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        alpha = torch.rand(real.shape[0], 1, 1, 1, generator=rng).to(self.device)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(self.discriminator(mixed).sum(), mixed, create_graph=True)
        return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()

    # --- evaluation and the metrics log ----------------------------------------------------------
    def evaluate(self, out: Path) -> dict[str, Any]:
        """Score the sampled generator, log the row, and write ``OUT.best.pt`` when it is the best so far."""
        scores: Scores = self.scorer()(self.sampler)
        entry = training_log.row(self.step, self.last_losses, scores.values, scores.intervals)
        self.log_rows.append(entry)
        if self.config.keep_best:
            rule = training_log.BestRule(self.config.keep_best)
            key = rule.key(scores.values)
            if rule.improves(scores.values[key], self.best["value"] if self.best else None):
                self.best = {"metric": key, "mode": rule.mode(), "step": self.step, "value": scores.values[key]}
                save_generator(training_log.best_path(out), self.generator, self.record(out), ema=self.sampler if self.ema else None)
        return entry

    def log_losses(self) -> dict[str, Any]:
        """A row without metric values (runs that do not evaluate log their losses at checkpoints)."""
        entry = training_log.row(self.step, self.last_losses)
        self.log_rows.append(entry)
        return entry

    def evaluation_settings(self) -> dict[str, Any] | None:
        c = self.config
        if c.eval_every is None:
            return None
        try:
            reference = c.reference()
        except UsageError:  # a scorer given by the caller (tests, other libraries) needs no reference spec
            reference = None
        return {
            "metrics": list(c.eval_metrics),
            "reference": reference,
            "num": c.eval_num,
            "seed": c.eval_seed,
            "extractor": c.eval_extractor,
            "every": c.eval_every,
            "weights": "ema" if self.ema else "raw",
        }

    # --- records and states -----------------------------------------------------------------------
    def record(self, out: Path) -> dict[str, Any]:
        c = self.config
        lr, betas, _ = DEFAULTS[c.loss]
        record: dict[str, Any] = {
            "format": CHECKPOINT_FORMAT,
            "role": c.role,
            "arch": self.arch.arch,
            "d": c.d,
            "loss": c.loss,
            "lambda": c.lam if c.loss == "joint" else None,
            "seed": c.seed,
            "dataset": self.teacher_record["dataset"] if self.data is None else self.data.name,
            "data": self.teacher_record["data"] if self.data is None else self.data.spec,
            "steps": self.step,
            "steps_planned": c.steps,
            "batch_size": c.batch_size,
            "optimizer": {
                "name": "rmsprop" if betas is None else "adam",
                "lr": c.learning_rate(),
                "betas": list(betas) if betas else None,
                "critic_steps": c.critic_steps(25) if self.discriminator is not None else 0,
                "critic_schedule": c.critic_schedule if self.discriminator is not None else None,
                "clip": c.clip if c.loss == "wgan-clip" else None,
                "gp_weight": c.gp_weight if c.loss == "wgan-gp" else None,
            },
            "architecture": self.arch.as_dict(),
            "parameters": count_parameters(self.generator),
            "discriminator_parameters": count_parameters(self.discriminator) if self.discriminator is not None else None,
            "discriminator_architecture": self.disc_arch.as_dict() if self.disc_arch is not None else None,
            "discriminator_init": (c.disc_init if c.role == "student" else "fresh") if self.discriminator is not None else None,
            "ema": {"decay": c.ema, "sampled": True} if self.ema is not None else None,
            "preset": c.preset,
            "last_losses": self.last_losses,
            "training_log": training_log.record_entry(out, self.log_rows, self.evaluation_settings(), self.best),
            "config": dataclasses.asdict(c),
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "versions": {"gan-eval": __version__, "torch": str(torch.__version__)},
        }
        if self.teacher_record is not None:
            teacher_params = self.teacher_record["parameters"]
            record.update(
                {
                    "teacher": {
                        "path": os.path.relpath(Path(c.teacher).resolve(), out.resolve().parent),
                        "sha256": file_sha256(c.teacher),
                        "d": self.teacher_record["d"],
                        "arch": self.teacher_record["arch"],
                        "loss": self.teacher_record["loss"],
                        "parameters": teacher_params,
                    },
                    "teacher_parameters": teacher_params,
                    "compression_ratio": teacher_params / record["parameters"],
                }
            )
        return record

    def save(self, out: Path) -> None:
        """Training state first, then the generator checkpoint: both always describe a finished step."""
        state = {
            "format": TRAIN_STATE_FORMAT,
            "step": self.step,
            "identity": self.config.identity(),
            "generator": self.generator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "discriminator": self.discriminator.state_dict() if self.discriminator is not None else None,
            "opt_d": self.opt_d.state_dict() if self.opt_d is not None else None,
            "generator_ema": self.ema.state_dict() if self.ema is not None else None,
            "log_rows": json.dumps(self.log_rows),
            "best": json.dumps(self.best),
        }
        save_torch(train_state_path(out), state)
        save_generator(out, self.generator, self.record(out), ema=self.ema.module if self.ema is not None else None)

    def restore(self, out: Path) -> None:
        path = train_state_path(out)
        state = load_torch(path)
        if state.get("format") != TRAIN_STATE_FORMAT:
            raise InputError(path, f"not a gan-eval training state (expected format {TRAIN_STATE_FORMAT!r})")
        saved, current = state["identity"], self.config.identity()
        different = identity_differences(saved, current)
        if different:
            raise UsageError(
                f"{path}: cannot resume, the run was started with different settings: "
                + ", ".join(f"{k}={saved.get(k)!r} (now {current[k]!r})" for k in different)
            )
        self.generator.load_state_dict(state["generator"])
        self.opt_g.load_state_dict(state["opt_g"])
        if self.discriminator is not None:
            self.discriminator.load_state_dict(state["discriminator"])
            self.opt_d.load_state_dict(state["opt_d"])
        if self.ema is not None:
            self.ema.load_state_dict(state["generator_ema"])
        self.log_rows = json.loads(state.get("log_rows") or "[]")
        self.best = json.loads(state.get("best") or "null")
        self.step = int(state["step"])


def train(
    config: TrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
    scorer: Scorer | None = None,
) -> dict[str, Any]:
    """Train to ``config.steps`` steps, checkpointing to ``out`` every ``checkpoint_every`` steps and
    at the end; with ``resume``, continue from ``out``'s training state. Evaluates every
    ``eval_every`` steps and at the end (``scorer``: how; default the library's Evaluator), writes
    the metrics log ``OUT.log.csv`` (a row per evaluation; without evaluations, per checkpoint) and
    sample grids. Returns the final record."""
    out = Path(out)
    trainer = Trainer(config, scorer)
    state_file = train_state_path(out)
    remove_stale_temporaries(out)
    if resume and state_file.is_file():
        trainer.restore(out)
    elif state_file.is_file() and not overwrite:
        raise UsageError(f"{state_file} exists: pass --resume to continue that run or --overwrite to start again")
    if config.eval_every is not None:
        trainer.scorer()  # fails now, not after the first interval, when the library cannot evaluate
    training_log.write_csv(out, trainer.log_rows)  # a resumed run drops rows logged after its checkpoint
    board = training_log.TensorBoardLog(out, trainer.step)
    bar = None
    if progress:
        from tqdm import tqdm

        label = f"{config.role} d={config.d} {config.loss}"
        bar = tqdm(total=config.steps, initial=trainer.step, desc=label, unit="step", dynamic_ncols=True, leave=False)
    try:
        while trainer.step < config.steps:
            losses = trainer.train_step()
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
            last = trainer.step == config.steps
            checkpoint = trainer.step % config.checkpoint_every == 0 or last
            entry = None
            if config.eval_every is not None and (trainer.step % config.eval_every == 0 or last):
                entry = trainer.evaluate(out)
            elif config.eval_every is None and checkpoint:
                entry = trainer.log_losses()
            if entry is not None:
                training_log.write_csv(out, trainer.log_rows)
                board.add(entry)
            if config.sample_every is not None and (trainer.step % config.sample_every == 0 or last):
                write_grid(out, trainer.step, trainer.sampler, trainer.arch.latent, trainer.device)
            if checkpoint:
                trainer.save(out)
            if on_step is not None:
                on_step(trainer.step, losses)
    finally:
        board.close()
        if bar is not None:
            bar.close()
    if trainer.step > config.steps:
        raise UsageError(f"{state_file} is already at step {trainer.step}, beyond --steps {config.steps}")
    if not checkpoint_is_current(out, trainer.step):  # resumed a finished run, or one killed mid-save
        trainer.save(out)
    return trainer.record(out)


def checkpoint_is_current(out: Path, step: int) -> bool:
    """Whether ``out`` and ``out.json`` both describe ``step``. ``save`` writes the training state first,
    so a run killed right after it has a checkpoint one interval behind its state; resuming such a
    finished run must rewrite the checkpoint instead of keeping the stale one."""
    try:
        saved = read_checkpoint(out)["record"].get("steps")
        listed = json.loads(record_path(out).read_text(encoding="utf-8")).get("steps")
    except (InputError, OSError, ValueError, AttributeError):
        return False
    return saved == step and listed == step
