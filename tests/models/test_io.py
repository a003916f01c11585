"""The model file: round trip, and a clear refusal of anything that is not an intact geocolor model."""

from __future__ import annotations

import pickle

import pytest
import torch

from geocolor.errors import ModelFileError
from geocolor.models import load
from geocolor.models.io import read_model_file, write_model_file
from tests.conftest import make_tiny_model


def test_round_trip_keeps_weights_and_metadata(tmp_path):
    path = make_tiny_model(tmp_path / "m.pt")
    payload = read_model_file(path)
    assert payload["metadata"]["architecture"]["generator"] == "unet_256"
    tr = load(path, device="cpu")
    x = torch.linspace(0, 100, 2 * 256 * 256).reshape(2, 1, 256, 256)
    ab = tr.predict_chroma(x)
    assert ab.shape == (2, 2, 256, 256) and torch.isfinite(ab).all()
    assert ab.abs().max() <= 110.0 + 1e-3
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in payload["state_dict"].items()}
    again = write_model_file(tmp_path / "again.pt", state, payload["metadata"])
    assert read_model_file(again)["checksum"] == payload["checksum"]


def test_predictions_are_deterministic_and_batch_independent(tmp_path):
    tr = load(make_tiny_model(tmp_path / "m.pt"), device="cpu")
    x = torch.rand(3, 1, 256, 256) * 100
    together = tr.predict_chroma(x)
    alone = torch.cat([tr.predict_chroma(x[i : i + 1]) for i in range(3)])
    assert (together - alone).abs().mean() < 1e-3


class Evil:
    def __reduce__(self):
        return (print, ("owned",))


@pytest.mark.parametrize(
    "kind,message",
    [
        ("missing", "does not exist"),
        ("text", "corrupt"),
        ("truncated", "corrupt"),
        ("foreign", "not a geocolor model"),
        ("pickled_code", "pickled Python objects"),
        ("tampered", "checksum"),
        ("no_metadata", "lacks"),
    ],
)
def test_bad_model_files_are_refused_with_one_line(kind, message, tmp_path):
    good = make_tiny_model(tmp_path / "good.pt")
    path = tmp_path / "bad.pt"
    if kind == "text":
        path.write_text("hello")
    elif kind == "truncated":
        path.write_bytes(good.read_bytes()[:5000])
    elif kind == "foreign":
        torch.save({"state_dict": {"w": torch.zeros(2)}}, path)
    elif kind == "pickled_code":
        payload = torch.load(good, weights_only=True)
        payload["metadata"]["hook"] = Evil()
        torch.save(payload, path, pickle_protocol=pickle.HIGHEST_PROTOCOL)
    elif kind == "tampered":
        payload = torch.load(good, weights_only=True)
        name = next(iter(payload["state_dict"]))
        payload["state_dict"][name] = payload["state_dict"][name] + 1
        torch.save(payload, path)
    elif kind == "no_metadata":
        payload = torch.load(good, weights_only=True)
        del payload["metadata"]["color_space"]
        torch.save(payload, path)
    with pytest.raises(ModelFileError, match=message) as info:
        load(path, device="cpu")
    assert "\n" not in str(info.value)


def test_shipped_default_model_is_small_trained_and_beats_baselines(default_model):
    assert default_model.stat().st_size <= 50 * 1024 * 1024
    meta = read_model_file(default_model)["metadata"]
    ev = meta["evaluation"]
    assert ev["n_chips"] >= 20
    for baseline in ("gray", "mean_color"):
        assert ev["model"]["psnr"] > ev[baseline]["psnr"], baseline
        assert ev["model"]["delta_e2000"] < ev[baseline]["delta_e2000"], baseline
    assert meta["training"]["steps"] >= 500


def test_shipped_default_model_names_its_sources_and_never_saw_the_test_sources(default_model):
    """Its metadata lists the catalogue sources that trained it, with licences; none is a held-out test source."""
    from geocolor.quality.catalog import load_catalog
    from tests.conftest import REPO, SHARED

    rows = read_model_file(default_model)["metadata"]["training"]["catalog"]
    trained = {r["source"] for r in rows if r["role"] == "train"}
    assert trained and all(r["licence"] for r in rows)
    if SHARED.is_dir():
        cat = load_catalog(REPO / "pipelines" / "quality" / "catalog.yaml", root=SHARED)
        assert trained == {s.name for s in cat.by_role("train")}
        assert not trained & {s.name for s in cat.by_role("val", "test")}


def test_info_prints_a_short_summary_and_json_on_request(default_model):
    import json

    from click.testing import CliRunner

    from geocolor.cli import cli

    r = CliRunner().invoke(cli, ["info", str(default_model)])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert len(lines) < 40 and lines[1].startswith("model: ") and "--json" in lines[-1]
    assert any(line.startswith("evaluation") for line in lines)
    r = CliRunner().invoke(cli, ["info", "--json", str(default_model)])
    assert json.loads(r.output)["tile_size"] == 256


def test_info_lists_the_style_models_named_styles():
    from click.testing import CliRunner

    from geocolor.cli import cli
    from geocolor.models import STYLE_MODEL

    r = CliRunner().invoke(cli, ["info", str(STYLE_MODEL)])
    assert r.exit_code == 0, r.output
    named = next(line for line in r.output.splitlines() if line.startswith("named styles"))
    assert "naip_2020" in named and "neon_forest" in named


def _edited(tmp_path, edit, keep_checksum: bool = False):
    payload = torch.load(make_tiny_model(tmp_path / "good.pt"), weights_only=True)
    edit(payload["metadata"])
    if not keep_checksum:
        del payload["metadata_checksum"]  # a file from before the metadata checksum: bounds and shapes still hold
    path = tmp_path / "edited.pt"
    torch.save(payload, path)
    return path


def test_edited_metadata_breaks_its_checksum(tmp_path):
    path = _edited(tmp_path, lambda m: m["architecture"].update(ngf=999), keep_checksum=True)
    with pytest.raises(ModelFileError, match="metadata does not match its checksum"):
        load(path, device="cpu")


def test_a_widened_architecture_is_refused_before_anything_big_is_built(tmp_path):
    """ngf 999 would allocate gigabytes; the shapes are compared on the meta device first (run under a memory cap)."""
    import subprocess
    import sys

    path = _edited(tmp_path, lambda m: m["architecture"].update(ngf=500))
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30));"
            "from geocolor.models import load; from geocolor.errors import ModelFileError\n"
            f"try:\n    load({str(path)!r}, device='cpu')\nexcept ModelFileError as e:\n    print(e); sys.exit(3)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 3, r.stderr[-2000:]
    assert "weights do not fit architecture 'unet_256'" in r.stdout and "the architecture needs" in r.stdout


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.update(tile_size="abc"), "tile_size 'abc' is not a whole number"),
        (lambda m: m.update(tile_size=1e9), "tile_size 1000000000 is outside"),
        (lambda m: m.update(tile_multiple=0), "tile_multiple 0 is outside"),
        (lambda m: m.update(tile_multiple=96), "not a multiple of tile_multiple 96"),
        (lambda m: m.update(architecture="unet_256"), "architecture must be a mapping"),
        (lambda m: m["architecture"].update(ngf=-3), "ngf -3 is outside"),
        (lambda m: m["architecture"].update(in_channels=2.5), "in_channels 2.5 is not a whole number"),
        (lambda m: m["architecture"].update(generator="nope"), "cannot build architecture 'nope'"),
    ],
)
def test_metadata_out_of_bounds_is_one_line(tmp_path, edit, message):
    with pytest.raises(ModelFileError, match=message) as info:
        load(_edited(tmp_path, edit), device="cpu")
    assert "\n" not in str(info.value)
