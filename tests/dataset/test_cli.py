"""``geocolor dataset`` from the shell: exit codes, one-line errors, then the outputs reopened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from geocolor.dataset.layouts import read_manifest
from geocolor.dataset.loader import PairedChips

REPO = Path(__file__).resolve().parents[2]


def geocolor(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.run([sys.executable, "-m", "geocolor.cli", "-q", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_dataset_command_end_to_end(naip, tmp_path):
    out = tmp_path / "ds"
    args = ["dataset", str(naip), str(out), "--size", "64", "--degrade", "film", "--split", "0.6,0.2,0.2",
            "--block-size", "960", "--preview", "4", "--film", "scratch.p=1"]
    run = geocolor(*args)
    assert run.returncode == 0, run.stderr
    records = read_manifest(out)
    assert {r["split"] for r in records} == {"train", "val", "test"}
    assert all(r["crs"] == "EPSG:26914" and r["width"] == r["height"] == 64 for r in records)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["leakage"]["ok"] and stats["leakage"]["min_distance"] > 0
    assert stats["total"] == len(records) == sum(stats["counts"].values())
    assert sum(stats["colour_histograms"]["train"]["red"]) == 64 * 64 * stats["counts"]["train"]
    with Image.open(out / "preview.png") as im:
        assert im.width == 3 * 128 + 16 and im.height > 4 * 128  # 4 rows, three enlarged 128 px columns
    with Image.open(out / "stats.png") as im:
        assert im.width > 500
    with Image.open(out / "paired" / "val" / f"{next(r['id'] for r in records if r['split'] == 'val')}.png") as im:
        assert im.size == (128, 64) and im.mode == "RGB"
    for folder in ("trainA", "trainB", "valA", "valB", "testA", "testB"):
        assert any((out / "unpaired" / folder).iterdir())
    assert len(PairedChips(out, "test")) == stats["counts"]["test"]
    settings = json.loads((out / "dataset.json").read_text())
    assert settings["complete"] and settings["settings"]["film"]["scratch"]["p"] == 1.0
    assert settings["settings"]["filters"]["dedupe"] is True  # absent flags keep the defaults
    again = geocolor(*args)  # the same command again: nothing to do
    assert again.returncode == 0 and "up to date" in again.stderr


def test_dataset_command_errors_are_one_line_with_exit_code_1(naip, tmp_path):
    (tmp_path / "junk.tif").write_text("junk")
    for args, message in [
        (["dataset", str(tmp_path / "junk.tif"), str(tmp_path / "a")], "not a raster"),
        (["dataset", str(naip), str(tmp_path / "b"), "--size", "64", "--gray", "sepia"], "gray conversion 'sepia' is unknown"),
        (["dataset", str(naip), str(tmp_path / "c"), "--size", "64", "--film", "grain.amont=1"], "unknown key(s) amont"),
    ]:
        run = geocolor(*args)
        assert run.returncode == 1, run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0]
    exists = tmp_path / "d"
    exists.mkdir()
    (exists / "x.txt").write_text("x")
    run = geocolor("dataset", str(naip), str(exists), "--size", "64")
    assert run.returncode == 1 and "not a geocolor dataset" in run.stderr


def test_preview_subcommand_writes_a_grid(naip, tmp_path):
    png = tmp_path / "look.png"
    run = geocolor("dataset", "preview", str(naip), str(png), "--size", "128", "--rows", "3", "--gray", "film")
    assert run.returncode == 0, run.stderr
    grid = np.asarray(Image.open(png))
    assert grid.shape == (14 + 3 * (128 + 14) + 4, 3 * 128 + 16, 3)
    run = geocolor("dataset", "preview", str(naip), str(png))
    assert run.returncode == 1 and "--overwrite" in run.stderr


def test_config_file_with_flags_on_top(naip, tmp_path):
    cfg = tmp_path / "dataset.yaml"
    cfg.write_text("stage: dataset\nsize: 64\nsplit: [1, 0, 0]\nlayouts: [manifest]\npreview: 0\n"
                   "film:\n  order: [grain, fade]\n  grain: {amount: [0.05, 0.05]}\n")
    run = geocolor("dataset", str(naip), str(tmp_path / "ds"), "--config", str(cfg), "--seed", "3")
    assert run.returncode == 0, run.stderr
    settings = json.loads((tmp_path / "ds" / "dataset.json").read_text())["settings"]
    assert settings["seed"] == 3 and settings["size"] == 64 and settings["film"]["order"] == ["grain", "fade"]
    assert settings["film"]["grain"]["amount"] == [0.05, 0.05] and settings["layouts"] == ["manifest"]
    assert not (tmp_path / "ds" / "paired").exists()
