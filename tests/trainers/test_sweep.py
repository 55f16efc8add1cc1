"""The command line: train teacher/student, a sweep and its manifest, sweep-score, the report link."""

from __future__ import annotations

import json

import pytest

from trainers.manifest import SCHEMA, read_manifest


FAST = ("--steps", 2, "--batch-size", 4, "-q")


def test_teacher_then_student_from_the_command_line(run_cli, tmp_path, noise_data):
    teacher = tmp_path / "t.pt"
    result = run_cli("train", "teacher", "--d", 4, "--data", noise_data, "--out", teacher, *FAST)
    assert result.exit_code == 0, result.output
    assert "27,384 generator parameters" in result.output
    result = run_cli("train", "student", "--teacher", teacher, "--d", 2, "--loss", "joint", "--lambda", 0.3, "--out", tmp_path / "s.pt", *FAST)
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "s.json").read_text())
    assert record["role"] == "student" and record["lambda"] == 0.3 and record["data"] == noise_data
    assert record["teacher"]["path"] == "t.pt" and len(record["teacher"]["sha256"]) == 64
    assert "compression 2.06×" in result.output
    again = run_cli("train", "teacher", "--d", 4, "--data", noise_data, "--out", teacher, *FAST)
    assert again.exit_code != 0 and "--resume" in again.output


def test_sweep_writes_a_manifest_that_sweep_score_and_report_consume(run_cli, tmp_path, noise_data):
    teachers = tmp_path / "teachers"
    result = run_cli("train", "sweep", "--ds", "2,4", "--data", noise_data, "--out", teachers, *FAST)
    assert result.exit_code == 0, result.output
    manifest = read_manifest(teachers / "sweep.json")
    assert manifest["schema"] == SCHEMA and manifest["sweep"] == "teachers"
    assert [(r["label"], r["role"], r["d"]) for r in manifest["runs"]] == [("teacher-d2", "teacher", 2), ("teacher-d4", "teacher", 4)]

    students = tmp_path / "students"
    result = run_cli("train", "sweep", "--teacher", teachers / "teacher-d4.pt", "--ds", "2", "--out", students, *FAST)
    assert result.exit_code == 0, result.output
    manifest = read_manifest(students / "sweep.json")
    assert [(r["label"], r["role"], r["loss"]) for r in manifest["runs"]] == [
        ("student-d2-mse", "student", "mse"),
        ("student-d2-joint", "student", "joint"),
        ("scratch-d2", "scratch", "gan"),
    ]
    assert manifest["teacher"] == "../teachers/teacher-d4.pt"
    assert manifest["runs"][0]["compression_ratio"] == pytest.approx(27384 / 13276)
    rerun = run_cli("train", "sweep", "--teacher", teachers / "teacher-d4.pt", "--ds", "2", "--out", students, *FAST)
    assert rerun.output.count("kept") == 3  # finished runs are not retrained

    result = run_cli("sweep-score", students / "sweep.json", "--ref", noise_data, "-m", "laplacian", "--num", 16, "-q")
    assert result.exit_code == 0, result.output
    manifest = read_manifest(students / "sweep.json")
    assert [r["record"] for r in manifest["runs"]] == ["records/student-d2-mse.json", "records/student-d2-joint.json", "records/scratch-d2.json"]
    record = json.loads((students / manifest["runs"][1]["record"]).read_text())
    assert record["inputs"]["generated"]["role"] == "student" and record["inputs"]["generated"]["count"] == 16
    assert "scratch-d2" in result.output and "2.06" in result.output
    again = run_cli("sweep-score", students / "sweep.json", "--ref", noise_data, "-m", "laplacian", "--num", 16, "-q")
    assert again.output.count("already scored") == 3

    from gan_eval.report import load_runs

    runs = load_runs([students / "sweep.json"])
    assert [run.label for run in runs] == ["student-d2-mse", "student-d2-joint", "scratch-d2"]
    assert runs[0].fact("compression_ratio") == pytest.approx(27384 / 13276)


def test_sweep_score_accepts_a_folder_of_checkpoints(run_cli, tmp_path, noise_data):
    for d in (2, 3):
        assert run_cli("train", "teacher", "--d", d, "--data", noise_data, "--out", tmp_path / "runs" / f"g{d}.pt", *FAST).exit_code == 0
    result = run_cli("sweep-score", tmp_path / "runs", "--ref", noise_data, "-m", "laplacian", "--num", 8, "-q")
    assert result.exit_code == 0, result.output
    assert [r["label"] for r in read_manifest(tmp_path / "runs" / "sweep.json")["runs"]] == ["g2", "g3"]


def test_sweep_rejects_bad_lists(run_cli, tmp_path):
    result = run_cli("train", "sweep", "--ds", "4,x", "--out", tmp_path)
    assert result.exit_code != 0 and "comma-separated" in result.output


def test_sweep_students_can_start_from_the_teachers_discriminator(run_cli, tmp_path, noise_data):
    teachers = tmp_path / "teachers"
    assert run_cli("train", "sweep", "--ds", "4", "--data", noise_data, "--out", teachers, "--ema", 0.9, *FAST).exit_code == 0
    students = tmp_path / "students"
    result = run_cli(
        "train",
        "sweep",
        "--teacher",
        teachers / "teacher-d4.pt",
        "--ds",
        "2",
        "--student-losses",
        "joint,scratch",
        "--disc-init",
        "teacher",
        "--out",
        students,
        *FAST,
    )
    assert result.exit_code == 0, result.output
    runs = {r["label"]: r for r in read_manifest(students / "sweep.json")["runs"]}
    assert runs["student-d2-joint"]["discriminator_init"] == "teacher"
    assert runs["scratch-d2"]["discriminator_init"] == "fresh"  # the control never borrows the teacher's critic
    assert read_manifest(teachers / "sweep.json")["runs"][0]["ema"] == {"decay": 0.9, "sampled": True}
    record = json.loads((students / "student-d2-joint.json").read_text())
    assert record["discriminator_architecture"]["d"] == 4  # the teacher's critic, whole
    refused = run_cli("train", "sweep", "--ds", "2", "--data", noise_data, "--disc-init", "teacher", "--out", tmp_path / "x", *FAST)
    assert refused.exit_code != 0 and "--teacher" in refused.output
