"""ONNX export and the onnxruntime engine: round trip, agreement with torch, hostile files, engine choice."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from geocolor.errors import EngineError, GeocolorError, InputError, ModelFileError, OutputExistsError
from tests.conftest import make_tiny_model, shared

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def tiny_pair(tmp_path_factory):
    """A tiny seeded model file and its ONNX export."""
    from geocolor.export import export_onnx

    folder = tmp_path_factory.mktemp("onnx")
    pt = make_tiny_model(folder / "tiny.pt", gain=0.1)
    result = export_onnx(pt, folder / "tiny.onnx")
    return pt, result


def real_tiles(n: int = 2, tile: int = 256) -> np.ndarray:
    """L* of ``n`` tiles of real NAIP imagery (2020), as a gray photo would give them."""
    import rasterio

    from geocolor.color import rgb_to_lab

    with rasterio.open(shared("naip/m_4709963_se_14_1_20200831.tif")) as src:
        rgb = src.read([1, 2, 3], window=((0, tile), (0, n * tile))).astype(np.float32) / 255
    lum = rgb_to_lab(np.moveaxis(rgb, 0, -1))[..., 0]
    return np.stack([lum[:, i * tile : (i + 1) * tile] for i in range(n)])[:, None].astype(np.float32)


def test_export_round_trip_keeps_metadata_and_answers_like_torch(tiny_pair):
    from geocolor.models import load
    from geocolor.models.io import read_model_file
    from geocolor.models.onnx_engine import load_onnx_colorizer
    from geocolor.models.onnx_file import read_onnx_header

    pt, result = tiny_pair
    payload = read_model_file(pt)
    header = read_onnx_header(result.path)
    assert header.graph == "colorize-lab-v1" and result.max_difference is not None and result.max_difference < 0.5
    assert header.metadata == payload["metadata"] and header.weights_checksum == payload["checksum"]
    onnx = load_onnx_colorizer(result.path, "cpu", 1)
    assert (onnx.engine, onnx.tile_size, onnx.tile_multiple, onnx.style_conditioned) == ("onnx", 256, 256, False)
    tiles = real_tiles()
    want = load(pt, device="cpu").predict_array(tiles)
    got = onnx.predict_array(tiles)
    assert got.shape == want.shape == (2, 2, 256, 256) and got.dtype == np.float32
    assert np.abs(got - want).max() < 0.5, "a*b* of the two engines differ"


def test_export_refuses_to_overwrite_and_non_onnx_names(tiny_pair, tmp_path):
    from geocolor.export import export_onnx

    pt, result = tiny_pair
    with pytest.raises(OutputExistsError, match="--overwrite"):
        export_onnx(pt, result.path)
    with pytest.raises(InputError, match=r"\.onnx"):
        export_onnx(pt, tmp_path / "model.pt")


def test_export_cli_writes_and_says_so(tiny_pair, tmp_path):
    pt, _ = tiny_pair
    out = tmp_path / "cli.onnx"
    args = [sys.executable, "-m", "geocolor.cli", "export", "--model", str(pt), "--onnx", str(out)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert out.is_file() and "colorize-lab-v1" in r.stderr
    again = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert again.returncode == 1 and again.stderr.strip().count("\n") == 0 and "--overwrite" in again.stderr


# ---------------------------------------------------------------------------------------- hostile files


def _plain_onnx(input_name: str = "lightness", channels: int = 1, props: dict[str, str] | None = None) -> bytes:
    """A valid ONNX graph (Identity / Concat) with chosen input name, channel count and metadata."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["n", channels, "h", "w"])
    y = helper.make_tensor_value_info("chroma", TensorProto.FLOAT, ["n", 2 * channels, "h", "w"])
    node = helper.make_node("Concat", [input_name, input_name], ["chroma"], axis=1)
    model = helper.make_model(helper.make_graph([node], "g", [x], [y]), opset_imports=[helper.make_opsetid("", 17)])
    for key, value in (props or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model.SerializeToString()


def _props(meta: dict, checksum: str | None = None) -> dict[str, str]:
    from geocolor.models.metadata import metadata_checksum

    return {"geocolor.format": "geocolor-onnx", "geocolor.format_version": "1", "geocolor.graph": "colorize-lab-v1",
            "geocolor.metadata": json.dumps(meta), "geocolor.metadata_checksum": checksum or metadata_checksum(meta),
            "geocolor.weights_checksum": "0" * 64}


META = {"name": "x", "architecture": {"generator": "unet_256", "in_channels": 1, "out_channels": 2, "ngf": 4},
        "color_space": "lab", "tile_size": 256, "tile_multiple": 256,
        "normalization": {"l_offset": 50.0, "l_scale": 50.0, "ab_scale": 110.0}}


@pytest.mark.parametrize(("content", "message"), [
    (b"", "not a geocolor ONNX model"),
    (b"\xff" * 64, "corrupt, truncated or not an ONNX file"),
    (b"PK\x03\x04 a zip, as a .pt file is" * 4, "corrupt, truncated or not an ONNX file"),
    ("plain", "not a geocolor ONNX model"),
    ("tampered", "does not match its checksum"),
    ("huge_tile", "tile_size 1000000 is outside"),
    ("wrong_input", "graph inputs are"),
    ("wrong_channels", "has 3 channels, expected 1"),
    ("truncated", "corrupt, truncated or not an ONNX file"),
])
def test_hostile_onnx_files_are_refused_in_one_line(tmp_path, content, message):
    from geocolor.models.onnx_engine import load_onnx_colorizer

    if content == "plain":
        content = _plain_onnx()
    elif content == "tampered":
        content = _plain_onnx(props=_props({**META, "tile_size": 512}, checksum=_props(META)["geocolor.metadata_checksum"]))
    elif content == "huge_tile":
        content = _plain_onnx(props=_props({**META, "tile_size": 1_000_000}))
    elif content == "wrong_input":
        content = _plain_onnx("x", props=_props(META))
    elif content == "wrong_channels":
        content = _plain_onnx(channels=3, props=_props(META))
    elif content == "truncated":
        content = _plain_onnx(props=_props(META))[:-7]
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message) as info:
        load_onnx_colorizer(path, "cpu", 1)
    assert "\n" not in str(info.value)


def test_oversized_onnx_is_refused_before_reading(tmp_path):
    from geocolor.models.onnx_file import read_onnx_header

    path = tmp_path / "big.onnx"
    path.write_bytes(b"\0" * 4096)
    with pytest.raises(ModelFileError, match="over the"):
        read_onnx_header(path, max_bytes=1024)


def test_mosaic_cli_with_a_hostile_onnx_model_fails_in_one_line(gray_uint8_twd97, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(_plain_onnx())
    out = tmp_path / "out.tif"
    r = subprocess.run([sys.executable, "-m", "geocolor.cli", "mosaic", str(gray_uint8_twd97), str(out), "--model", str(bad)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and r.stderr.startswith("Error: ") and r.stderr.strip().count("\n") == 0, r.stderr
    assert not out.exists()


# ---------------------------------------------------------------------------------------- choosing an engine


def test_engine_choice(monkeypatch, tiny_pair, tmp_path):
    from geocolor.models import engines

    pt, result = tiny_pair
    assert engines.resolve_engine("auto", pt) == "torch"
    assert engines.resolve_engine("auto", result.path) == "onnx"
    assert engines.onnx_path_for(pt) == result.path
    with pytest.raises(EngineError, match="--engine onnx"):
        engines.resolve_engine("torch", result.path)
    with pytest.raises(ModelFileError, match="geocolor export"):
        engines.onnx_path_for(tmp_path / "lonely.pt")
    monkeypatch.setattr(engines, "installed", lambda module: module == "onnxruntime")
    assert engines.resolve_engine("auto", pt) == "onnx"
    with pytest.raises(EngineError, match=r"geocolor\[torch\]"):
        engines.resolve_engine("torch", pt)
    monkeypatch.setattr(engines, "installed", lambda module: False)
    with pytest.raises(EngineError, match="no inference engine is installed") as info:
        engines.resolve_engine("auto", pt)
    assert isinstance(info.value, GeocolorError) and "\n" not in str(info.value)


def test_threads_default_to_physical_cores_and_lists_match_the_cli():
    from geocolor.commands import options
    from geocolor.models.engines import ENGINES, PRECISIONS, check_threads, physical_cores

    assert 1 <= physical_cores() <= (__import__("os").cpu_count() or 1)
    assert check_threads(None) == physical_cores() and check_threads(3) == 3
    with pytest.raises(InputError):
        check_threads(0)
    params = {p.name: p for p in (options.engine_option(lambda: None).__click_params__ +
                                  options.precision_option(lambda: None).__click_params__)}
    assert tuple(params["engine"].type.choices) == ENGINES and tuple(params["precision"].type.choices) == PRECISIONS
