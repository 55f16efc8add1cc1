"""Regenerate docs/images/report.png: a real two-run report, photographed by headless Chromium.

    .venv/bin/python docs/make_report_screenshot.py [--work DIR]

Trains a d=4 teacher for 30 steps on MNIST-5k with FID evaluated every 10 steps (best checkpoint kept
by FID), scores its last and its best checkpoint (256 images, FID with -O fid.curve=true, KID,
--save-states), writes the report with 'gan-eval report' and photographs its top with
``chromium --headless --screenshot`` (offline flags), scaled to 1000 pixels wide as a 256-colour
PNG. Steps already done in --work (default: a temporary folder) are reused. Takes several minutes
on 2 CPU cores (the paired comparison of the two records is most of it). Needs Debian's chromium.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images" / "report.png"
GAN_EVAL = [sys.executable, "-m", "gan_eval"]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHROMIUM_FLAGS += ["--no-first-run", "--hide-scrollbars", "--window-size=1280,2500"]
WIDTH = 1000


def run(*args: str) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, help="folder for the checkpoint, records and report (reused when present)")
    work = parser.parse_args().work or Path(tempfile.mkdtemp(prefix="gan-eval-shot-"))
    work.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium is missing: apt-get install chromium")
    checkpoint = work / "t.pt"
    if not checkpoint.is_file():
        train = ["train", "teacher", "--d", "4", "--steps", "30", "--batch-size", "16", "--eval-every", "10", "--eval-num", "128"]
        run(*GAN_EVAL, *train, "--eval-metrics", "fid", "--keep-best", "fid", "--out", str(checkpoint))
    score = ["--num", "256", "--ref", "dataset:mnist5k:test", "-m", "fid", "-m", "kid", "-O", "fid.curve=true", "--save-states"]
    for name, target, seed in (("teacher", checkpoint, "0"), ("best", work / "t.best.pt", "1")):
        record = work / f"{name}.json"
        if not record.is_file():
            run(*GAN_EVAL, "score", str(target), *score, "--seed", seed, "--out", str(record))
    report = work / "report.html"
    run(*GAN_EVAL, "report", str(work / "teacher.json"), str(work / "best.json"), "-o", str(report), "--title", "teacher: last vs best checkpoint")
    shot = work / "shot.png"
    run(chromium, *CHROMIUM_FLAGS, f"--screenshot={shot}", report.resolve().as_uri())

    from PIL import Image

    image = Image.open(shot).convert("RGB")
    image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.LANCZOS)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(OUT, optimize=True)
    print(f"{OUT} ({OUT.stat().st_size:,} bytes, {image.width}×{image.height})")


if __name__ == "__main__":
    main()
