"""EMA, evaluation during training, the best checkpoint, the metrics log, sample grids, presets,
--dry-run and the students' discriminator initialisation (issue 15).

Most tests pass the trainer a small deterministic scorer (a statistic of the generator's images on
fixed latents) instead of the library's Evaluator: they test the trainer's bookkeeping (which row is
logged, which checkpoint is kept, what a resume reproduces), which does not depend on what is
measured. ``test_evaluation_through_the_library_api`` runs the real ``gan_eval.Evaluator``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_eval.errors import InputError, UsageError
from gan_eval.source import SourceOptions
from trainers.checkpoint import load_torch, read_checkpoint, train_state_path
from trainers.checkpoint_source import CheckpointSource
from trainers.data import load_training_images
from trainers.evaluation import Scores, flat_intervals
from trainers.training import TrainConfig, Trainer, train
from trainers.training_log import BestRule, best_path, csv_path, read_csv


pytestmark = pytest.mark.usefixtures("deterministic")


class ImageMeanScorer:
    """Scores = statistics of the generator's images on 16 fixed latents; a fake interval around
    each. Deterministic in the weights, so equal weights give equal scores."""

    def __init__(self):
        self.calls = 0
        self.z = torch.randn(16, 100, generator=torch.Generator().manual_seed(123))

    def __call__(self, generator):
        self.calls += 1
        with torch.no_grad():
            images = generator(self.z)
        mean, spread = float(images.mean()), float(images.std())
        return Scores({"fid@test.fid": 100.0 * (1.0 + mean), "is@test.mean": 1.0 + spread}, {"fid@test.fid": (90.0 * (1.0 + mean), 110.0 * (1.0 + mean))})


def ema_config(data: str, **kw) -> TrainConfig:
    base = dict(d=2, steps=6, batch_size=4, data=data, ema=0.5, eval_every=2, checkpoint_every=2, keep_best="fid")
    return TrainConfig(**{**base, **kw})


def states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_ema_weights_differ_from_raw_and_are_what_ckpt_samples_by_default(tmp_path, noise_data):
    out = tmp_path / "run.pt"
    train(TrainConfig(d=2, steps=4, batch_size=4, data=noise_data, ema=0.9), out, progress=False)
    payload = read_checkpoint(out)
    raw, ema = payload["generator"], payload["generator_ema"]
    assert raw.keys() == ema.keys()
    weights = [k for k in raw if k.endswith("weight")]
    assert all(not torch.equal(raw[k], ema[k]) for k in weights)
    assert payload["record"]["ema"] == {"decay": 0.9, "sampled": True}

    default = CheckpointSource(str(out), SourceOptions(count=8))
    as_raw = CheckpointSource(str(out), SourceOptions(count=8, extra={"weights": "raw"}))
    as_ema = CheckpointSource(str(out), SourceOptions(count=8, extra={"weights": "ema"}))
    assert default.info()["weights"] == "ema" and as_raw.info()["weights"] == "raw"
    assert np.array_equal(default.read(0, 8).images, as_ema.read(0, 8).images)
    assert not np.array_equal(default.read(0, 8).images, as_raw.read(0, 8).images)
    assert default.fingerprint() != as_raw.fingerprint()
    assert all(torch.equal(default.generator.state_dict()[k], ema[k]) for k in ema)


def test_ema_is_the_running_average_of_the_raw_weights(noise_data):
    trainer = Trainer(TrainConfig(d=2, steps=2, batch_size=4, data=noise_data, ema=0.75))
    start = {k: v.clone() for k, v in trainer.generator.named_parameters()}
    trainer.train_step()
    for name, p in trainer.ema.module.named_parameters():
        expected = 0.75 * start[name] + 0.25 * dict(trainer.generator.named_parameters())[name].detach()
        assert torch.allclose(p, expected, rtol=0, atol=1e-7), name


def test_checkpoints_without_ema_sample_raw_and_refuse_weights_ema(tmp_path, noise_data):
    out = tmp_path / "plain.pt"
    train(TrainConfig(d=2, steps=2, batch_size=4, data=noise_data), out, progress=False)
    assert "generator_ema" not in read_checkpoint(out)
    assert CheckpointSource(str(out), SourceOptions(count=4)).info()["weights"] == "raw"
    with pytest.raises(InputError, match="no EMA weights"):
        CheckpointSource(str(out), SourceOptions(count=4, extra={"weights": "ema"}))
    with pytest.raises(InputError, match="weights='newest'"):
        CheckpointSource(str(out), SourceOptions(count=4, extra={"weights": "newest"}))


def test_best_checkpoint_is_the_one_whose_logged_metric_is_best_and_the_log_has_a_row_per_evaluation(tmp_path, noise_data):
    out = tmp_path / "run.pt"
    scorer = ImageMeanScorer()
    record = train(ema_config(noise_data, steps=7), out, progress=False, scorer=scorer)
    rows = read_csv(csv_path(out))
    assert [int(r["step"]) for r in rows] == [2, 4, 6, 7] and scorer.calls == 4  # every 2 steps and the last
    assert {"loss_d", "loss_g", "fid@test.fid", "fid@test.fid.low", "fid@test.fid.high", "is@test.mean"} <= set(rows[0])
    fids = [float(r["fid@test.fid"]) for r in rows]
    best_step = int(rows[int(np.argmin(fids))]["step"])
    log = record["training_log"]
    assert log["best"]["step"] == best_step and log["best"]["value"] == min(fids) and log["best"]["metric"] == "fid@test.fid"
    assert [r["values"]["fid@test.fid"] for r in log["rows"]] == fids  # CSV and record agree exactly

    # The best checkpoint holds the weights the run had at that step: a run stopped there has them.
    train(ema_config(noise_data, steps=best_step), tmp_path / "prefix.pt", progress=False, scorer=ImageMeanScorer())
    best, prefix = read_checkpoint(best_path(out)), read_checkpoint(tmp_path / "prefix.pt")
    assert best["record"]["steps"] == best_step
    assert states_equal(best["generator_ema"], prefix["generator_ema"]) and states_equal(best["generator"], prefix["generator"])
    assert ImageMeanScorer()(CheckpointSource(str(best_path(out)), SourceOptions(count=1)).generator).values["fid@test.fid"] == min(fids)


class Interrupt(Exception):
    pass


def test_resume_with_ema_and_evaluation_is_bit_identical(tmp_path, noise_data):
    config = dict(steps=9, sample_every=3)
    train(ema_config(noise_data, **config), tmp_path / "straight.pt", progress=False, scorer=ImageMeanScorer())

    def stop_at_5(step, losses):
        if step == 5:
            raise Interrupt

    broken = tmp_path / "broken.pt"
    with pytest.raises(Interrupt):
        train(ema_config(noise_data, **config), broken, progress=False, scorer=ImageMeanScorer(), on_step=stop_at_5)
    assert [r["step"] for r in read_csv(csv_path(broken))] == ["2", "4"]
    train(ema_config(noise_data, **config), broken, resume=True, progress=False, scorer=ImageMeanScorer())

    a, b = load_torch(train_state_path(tmp_path / "straight.pt")), load_torch(train_state_path(broken))
    for key in ("generator", "generator_ema", "discriminator"):
        assert states_equal(a[key], b[key]), key
    assert csv_path(tmp_path / "straight.pt").read_text() == csv_path(broken).read_text()
    ra, rb = read_checkpoint(tmp_path / "straight.pt")["record"], read_checkpoint(broken)["record"]
    assert ra["training_log"]["rows"] == rb["training_log"]["rows"]
    assert ra["training_log"]["best"] == {**rb["training_log"]["best"], "checkpoint": "straight.best.pt"}
    ba, bb = read_checkpoint(best_path(tmp_path / "straight.pt")), read_checkpoint(best_path(broken))
    assert states_equal(ba["generator_ema"], bb["generator_ema"])
    grids = sorted(p.name for p in (tmp_path / "straight.samples").iterdir())
    assert grids == ["step-0000003.png", "step-0000006.png", "step-0000009.png"]
    for name in grids:
        assert (tmp_path / "straight.samples" / name).read_bytes() == (tmp_path / "broken.samples" / name).read_bytes()


def test_runs_without_evaluation_log_losses_at_each_checkpoint(tmp_path, noise_data):
    out = tmp_path / "run.pt"
    train(TrainConfig(d=2, steps=5, batch_size=4, data=noise_data, checkpoint_every=2), out, progress=False)
    rows = read_csv(csv_path(out))
    assert [r["step"] for r in rows] == ["2", "4", "5"] and set(rows[0]) == {"step", "loss_d", "loss_g"}


def test_evaluation_through_the_library_api(tmp_path, noise_data):
    """The real thing: gan_eval.Evaluator scores the EMA generator during training."""
    import gan_eval

    if not hasattr(gan_eval, "Evaluator"):
        pytest.skip("gan_eval.Evaluator not available yet")
    out = tmp_path / "run.pt"
    record = train(
        TrainConfig(
            d=2,
            steps=4,
            batch_size=4,
            data=noise_data,
            ema=0.5,
            eval_every=2,
            eval_num=40,
            eval_metrics=["fid", "is"],
            eval_reference=noise_data,
            eval_extractor="mnist-cnn",
            keep_best="fid",
        ),
        out,
        progress=False,
    )
    rows = read_csv(csv_path(out))
    assert [r["step"] for r in rows] == ["2", "4"]
    fids = [float(r["fid@mnist-cnn.fid"]) for r in rows]
    assert all(np.isfinite(fids)) and float(rows[0]["is@mnist-cnn.mean"]) >= 1.0
    assert record["training_log"]["best"]["value"] == min(fids)
    assert record["training_log"]["evaluation"]["weights"] == "ema"
    # the logged score is what scoring the checkpoint of that step with the same seed and count gives
    direct = gan_eval.evaluate(f"ckpt:{out}", noise_data, ["fid"], extractor="mnist-cnn", device="cpu", count=40, seed=0)
    assert direct.values["fid@mnist-cnn.fid"] == pytest.approx(fids[-1], rel=1e-6)


def test_evaluation_without_the_library_api_is_a_clear_error(noise_data, monkeypatch):
    import gan_eval

    monkeypatch.delattr(gan_eval, "Evaluator", raising=False)
    with pytest.raises(UsageError, match="gan_eval.Evaluator"):
        Trainer(TrainConfig(d=2, steps=2, batch_size=4, data=noise_data, eval_every=1, eval_reference=noise_data)).scorer()


@pytest.mark.parametrize(
    "preset,generator", [("aguinaldo2019-mnist", "47,328,768"), ("aguinaldo2019-cifar10", "3,576,704"), ("aguinaldo2019-celeba", "12,658,432")]
)
def test_dry_run_prints_the_papers_generator_sizes(run_cli, preset, generator):
    result = run_cli("train", "teacher", "--preset", preset, "--dry-run")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("generator:"))
    assert f"generator: {generator} parameters" in line and "×64²" in line and "MACs per image" in line and "MiB" in line
    assert any(x.startswith("discriminator:") and "MACs per image" in x for x in result.output.splitlines())


def test_dry_run_macs_match_a_hand_count(run_cli):
    # 28×28, d=1: z→4×4² (100·4·16) → 2×7² (4·2·9·16) → 1×14² (2·1·16·49) → 1×28² (1·1·16·196)
    result = run_cli("train", "teacher", "--d", 1, "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"{100 * 4 * 16 + 4 * 2 * 9 * 16 + 2 * 1 * 16 * 49 + 1 * 1 * 16 * 196:,} MACs per image" in result.output


def test_presets_train_on_upsampled_64px_images_with_the_wgan_schedule(noise_data):
    assert load_training_images(noise_data, size=64).images.shape == (48, 1, 64, 64)
    config = TrainConfig(loss="wgan-clip", critic_schedule="wgan")
    assert [config.critic_steps(s) for s in (0, 24, 25, 499, 500, 501)] == [100, 100, 5, 5, 100, 5]
    assert TrainConfig(loss="wgan-clip").critic_steps(0) == 5


def test_a_cifar_preset_without_data_is_a_clear_error(run_cli, tmp_path):
    result = run_cli("train", "teacher", "--preset", "aguinaldo2019-cifar10", "--out", tmp_path / "c.pt", "-q")
    assert result.exit_code != 0 and "--data" in result.output and "offline" in result.output


def make_teacher(tmp_path: Path, data: str, loss: str = "gan") -> Path:
    path = tmp_path / "teacher.pt"
    train(TrainConfig(d=4, steps=2, batch_size=4, data=data, loss=loss, n_critic=1), path, progress=False)
    return path


def test_student_discriminator_fresh_or_from_the_teachers_critic(tmp_path, noise_data):
    teacher = make_teacher(tmp_path, noise_data)
    critic = load_torch(train_state_path(teacher))["discriminator"]
    common = dict(role="student", loss="joint", d=2, steps=1, batch_size=4, teacher=str(teacher), data=noise_data)
    from_teacher = Trainer(TrainConfig(**common, disc_init="teacher"))
    assert states_equal(from_teacher.discriminator.state_dict(), critic)  # the teacher's width (d=4), not the student's
    fresh = Trainer(TrainConfig(**common))
    assert fresh.disc_arch.d == 2 and fresh.discriminator.state_dict()["net.0.weight"].shape != critic["net.0.weight"].shape
    assert from_teacher.record(tmp_path / "s.pt")["discriminator_init"] == "teacher"
    assert from_teacher.record(tmp_path / "s.pt")["discriminator_architecture"]["d"] == 4
    assert fresh.record(tmp_path / "s.pt")["discriminator_init"] == "fresh"
    with pytest.raises(UsageError, match="for students"):
        TrainConfig(d=2, disc_init="teacher").validate()


def test_teacher_critic_init_refuses_a_wgan_teacher(tmp_path, noise_data):
    teacher = make_teacher(tmp_path, noise_data, loss="wgan-clip")
    with pytest.raises(UsageError, match="'gan' teacher"):
        Trainer(TrainConfig(role="student", loss="joint", d=2, teacher=str(teacher), data=noise_data, disc_init="teacher"))


def test_keep_best_names_and_directions():
    values = {"fid@mnist-cnn.fid": 3.0, "is@mnist-cnn.mean": 2.0, "is@mnist-cnn.std": 0.1, "pr@mnist-cnn.recall": 0.5, "pr@mnist-cnn.precision": 0.4}
    assert BestRule("fid").key(values) == "fid@mnist-cnn.fid" and BestRule("fid").mode() == "min"
    assert BestRule("is").key(values) == "is@mnist-cnn.mean" and BestRule("is").mode() == "max"
    assert BestRule("max:pr@mnist-cnn.recall").key(values) == "pr@mnist-cnn.recall"
    assert BestRule("fid").improves(2.0, 3.0) and not BestRule("is").improves(1.0, 2.0)
    with pytest.raises(UsageError, match="no single logged value"):
        BestRule("pr").key(values)
    with pytest.raises(UsageError, match="min:laplacian"):
        BestRule("laplacian").mode()
    with pytest.raises(UsageError, match="--eval-every"):
        TrainConfig(keep_best="fid").validate()


def test_library_intervals_are_flattened_to_the_value_keys():
    nested = {"fid@x": {"fid": {"low": 1.0, "high": 2.0, "level": 0.95}}, "kid@x": {"mean": (0.1, 0.2)}}
    assert flat_intervals(nested) == {"fid@x.fid": (1.0, 2.0), "kid@x.mean": (0.1, 0.2)}


def test_old_training_states_resume_with_the_new_fields_at_their_defaults(tmp_path, noise_data):
    out = tmp_path / "run.pt"
    train(TrainConfig(d=2, steps=2, batch_size=4, data=noise_data), out, progress=False)
    state = load_torch(train_state_path(out))
    for key in ("ema", "eval_every", "keep_best", "disc_init", "critic_schedule", "size", "preset"):
        state["identity"].pop(key)
    torch.save(state, train_state_path(out))
    assert train(TrainConfig(d=2, steps=3, batch_size=4, data=noise_data), out, resume=True, progress=False)["steps"] == 3
    with pytest.raises(UsageError, match="ema"):
        train(TrainConfig(d=2, steps=4, batch_size=4, data=noise_data, ema=0.9), out, resume=True, progress=False)
    assert json.loads((tmp_path / "run.json").read_text())["training_log"]["csv"] == "run.log.csv"
