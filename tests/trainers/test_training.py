"""Training: distillation reduces the MSE to the teacher; interrupted runs resume exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gan_eval.errors import UsageError
from trainers.checkpoint import load_generator, load_torch, train_state_path
from trainers.training import TrainConfig, Trainer, train


pytestmark = pytest.mark.usefixtures("deterministic")


def make_teacher(path: Path, data: str, d: int = 8) -> Path:
    """A teacher whose images vary strongly with z (large random weights), saved as a real checkpoint."""
    trainer = Trainer(TrainConfig(d=d, steps=1, batch_size=8, data=data))
    with torch.no_grad():
        for module in trainer.generator.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                module.weight.normal_(0.0, 0.15, generator=torch.Generator().manual_seed(1))
    trainer.save(path)
    return path


def test_mse_distillation_reduces_the_students_error_to_the_teacher(tmp_path, noise_data):
    teacher_path = make_teacher(tmp_path / "teacher.pt", noise_data)
    student = Trainer(TrainConfig(role="student", loss="mse", d=4, steps=60, batch_size=16, teacher=str(teacher_path)))
    z = torch.randn(64, 100, generator=torch.Generator().manual_seed(99))  # held-out latents

    def error() -> float:
        student.generator.eval()
        with torch.no_grad():
            value = float(((student.generator(z) - student.teacher(z)) ** 2).mean())
        student.generator.train()
        return value

    before = error()
    for _ in range(60):
        student.train_step()
    assert error() < 0.75 * before
    record = student.record(tmp_path / "student.pt")
    assert record["role"] == "student" and record["loss"] == "mse"
    assert record["teacher_parameters"] > record["parameters"]
    assert record["compression_ratio"] == pytest.approx(record["teacher_parameters"] / record["parameters"])


def states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class Interrupt(Exception):
    pass


def interrupt_at(step: int):
    def on_step(current: int, losses: dict) -> None:
        if current == step:
            raise Interrupt

    return on_step


@pytest.mark.parametrize("loss", ["gan", "wgan-gp", "joint"])
def test_resume_after_interruption_matches_an_uninterrupted_run(tmp_path, noise_data, loss):
    teacher = str(make_teacher(tmp_path / "teacher.pt", noise_data, d=4)) if loss == "joint" else None
    role = "student" if teacher else "teacher"
    config = dict(
        role=role, loss=loss, d=4, steps=6, batch_size=8, checkpoint_every=2, data=noise_data, teacher=teacher, n_critic=2 if loss == "wgan-gp" else None
    )

    train(TrainConfig(**config), tmp_path / "straight.pt", progress=False)
    with pytest.raises(Interrupt):
        train(TrainConfig(**config), tmp_path / "broken.pt", progress=False, on_step=interrupt_at(5))
    assert load_torch(train_state_path(tmp_path / "broken.pt"))["step"] == 4  # the last checkpoint
    record = train(TrainConfig(**config), tmp_path / "broken.pt", resume=True, progress=False)
    assert record["steps"] == 6

    straight, resumed = load_torch(train_state_path(tmp_path / "straight.pt")), load_torch(train_state_path(tmp_path / "broken.pt"))
    assert straight["step"] == resumed["step"] == 6
    assert states_equal(straight["generator"], resumed["generator"])
    assert states_equal(straight["discriminator"], resumed["discriminator"])
    a, _ = load_generator(tmp_path / "straight.pt")
    b, _ = load_generator(tmp_path / "broken.pt")
    z = torch.randn(4, 100)
    assert torch.equal(a(z), b(z))


def test_resuming_with_different_settings_is_refused(tmp_path, noise_data):
    out = tmp_path / "run.pt"
    train(TrainConfig(d=2, steps=2, batch_size=4, data=noise_data), out, progress=False)
    with pytest.raises(UsageError, match="seed=0"):
        train(TrainConfig(d=2, steps=4, batch_size=4, data=noise_data, seed=1), out, resume=True, progress=False)


def test_an_existing_run_is_not_overwritten_silently(tmp_path, noise_data):
    out = tmp_path / "run.pt"
    train(TrainConfig(d=2, steps=2, batch_size=4, data=noise_data), out, progress=False)
    with pytest.raises(UsageError, match="--resume"):
        train(TrainConfig(d=2, steps=2, batch_size=4, data=noise_data), out, progress=False)
    record = train(TrainConfig(d=2, steps=3, batch_size=4, data=noise_data), out, resume=True, progress=False)
    assert record["steps"] == 3  # extended by one step


@pytest.mark.parametrize(
    "config,message",
    [
        (dict(role="student", loss="gan", teacher="t.pt"), "mse or joint"),
        (dict(role="teacher", loss="mse"), "gan or wgan-clip or wgan-gp"),
        (dict(role="student", loss="mse"), "--teacher"),
        (dict(loss="joint", role="student", teacher="t.pt", lam=1.5), "lambda"),
    ],
)
def test_inconsistent_configs_are_refused(config, message):
    with pytest.raises(UsageError, match=message):
        TrainConfig(**config).validate()


def test_wgan_clip_keeps_critic_weights_clipped(tmp_path, noise_data):
    trainer = Trainer(TrainConfig(loss="wgan-clip", d=2, steps=1, batch_size=4, data=noise_data, n_critic=1))
    trainer.train_step()
    assert max(float(p.detach().abs().max()) for p in trainer.discriminator.parameters()) <= 0.01
    assert trainer.arch.arch == "wdcgan"
