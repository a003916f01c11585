"""``geocolor sweep``: trains tiny real configs into one folder, skips finished runs, resumes partial
ones, records failures, and tabulates the held-out figures sorted by a metric."""

from __future__ import annotations

import csv

import pytest
import yaml
from click.testing import CliRunner

from geocolor.cli import cli
from geocolor.errors import ConfigError
from geocolor.train.sweep import run_sweep, sort_rows
from tests.train.test_trainer import tiny_config


def two_configs(tmp_path):
    a = tiny_config(tmp_path, name="unet_small")
    b_tree = yaml.safe_load(a.read_text())
    b_tree.update(name="unet_lsgan", loss={"gan_mode": "lsgan"})
    b = tmp_path / "b.yaml"
    b.write_text(yaml.safe_dump(b_tree))
    return a, b


def read_rows(path):
    with path.open() as f:
        return list(csv.DictReader(f))


def test_sweep_trains_tabulates_skips_and_resumes(tmp_path):
    a, b = two_configs(tmp_path)
    broken_tree = yaml.safe_load(a.read_text())
    broken_tree.update(name="broken", data={"tile": 128, "batch_size": 2, "sources": [{"path": str(tmp_path / "missing.tif")}]})
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(broken_tree))
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(yaml.safe_dump({**broken_tree, "name": "invalid", "model": {"ngf": "wide"}}))  # does not even load
    out = tmp_path / "sweep"
    args = ["-q", "sweep", str(a), str(b), str(broken), str(invalid), "--out", str(out), "--set", "steps=2",
            "--set", "eval_every=2", "--device", "cpu"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 1 and "2 of 4 runs failed (invalid, broken)" in str(r.exception), r.exception
    assert yaml.safe_load((out / "unet_small" / "config.yaml").read_text())["device"] == "cpu"
    rows = read_rows(out / "results.csv")
    assert [row["status"] for row in rows][:2] == ["trained", "trained"] and {rows[2]["run"], rows[3]["run"]} == {"broken", "invalid"}
    failed = {row["run"]: row["status"] for row in rows[2:]}
    assert failed["broken"].startswith("failed: cannot read training source")
    assert failed["invalid"].startswith("failed: model.ngf must be int")
    good = rows[:2]
    assert {row["run"] for row in good} == {"unet_small", "unet_lsgan"}
    assert float(good[0]["delta_e2000"]) <= float(good[1]["delta_e2000"])  # sorted, lowest first
    for row in good:
        assert row["gan_mode"] in ("vanilla", "lsgan") and row["steps"] == "2" and row["n_chips"] == "8"
        for col in ("psnr", "ssim", "colourfulness", "gray_delta_e2000", "mean_color_delta_e2000"):
            assert float(row[col]) == float(row[col]), col  # present, a number
        assert float(row["gray_colourfulness"]) == pytest.approx(0.0, abs=1.0)  # the gray baseline has no colour
    md = (out / "results.md").read_text()
    assert "sorted by delta_e2000" in md and md.count("| unet_small |") == md.count("| unet_lsgan |") == 1
    stamp = (out / "unet_small" / "best.pt").stat().st_mtime_ns

    rows = run_sweep([a, b], out, ["steps=2", "eval_every=2"], sort_by="psnr", show_progress=False)
    assert [row["status"] for row in rows] == ["skipped (finished)"] * 2
    assert (out / "unet_small" / "best.pt").stat().st_mtime_ns == stamp
    assert rows[0]["psnr"] >= rows[1]["psnr"]  # highest first

    rows = run_sweep([a], out, ["steps=3", "eval_every=3"], show_progress=False)
    assert rows[0]["status"] == "resumed" and rows[0]["steps"] == 3
    losses = (out / "unet_small" / "losses.csv").read_text().splitlines()
    assert [ln.split(",")[0] for ln in losses[1:]] == ["1", "2", "3"]


def test_sweep_refuses_duplicate_names_and_unknown_metrics(tmp_path):
    a, _ = two_configs(tmp_path)
    with pytest.raises(ConfigError, match="share the name unet_small"):
        run_sweep([a, a], tmp_path / "out")
    with pytest.raises(ConfigError, match="cannot sort a sweep by 'fid'"):
        run_sweep([a], tmp_path / "out", sort_by="fid")


def test_rows_without_figures_sort_last():
    rows = [{"run": "x"}, {"run": "y", "ssim": 0.5}, {"run": "z", "ssim": 0.9}]
    assert [r["run"] for r in sort_rows(rows, "ssim")] == ["z", "y", "x"]
    rows = [{"run": "a", "colourfulness_diff": -9.0}, {"run": "b", "colourfulness_diff": 2.0}]
    assert [r["run"] for r in sort_rows(rows, "colourfulness_diff")] == ["b", "a"]
