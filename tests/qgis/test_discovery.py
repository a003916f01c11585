"""Engine discovery without QGIS: the order of the places, the proof each candidate must give, conda environments."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest
from geocolor_qgis import discovery
from geocolor_qgis.discovery import conda_candidates, find_engine, runs_geocolor
from geocolor_qgis.engine import SUBPROCESS, Engine, EngineNotFound
from geocolor_qgis.installer import MARKER, VENV_DIR, venv_python


def _executable(path: Path, text: str = "#!/bin/sh\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _find(tmp_path: Path, works, **kwargs) -> Engine:
    defaults = {"environ": {}, "inprocess": lambda: False, "which": lambda name: None, "works": works, "home": tmp_path / "home"}
    return find_engine(None, tmp_path / "plugins" / "geocolor_qgis", **{**defaults, **kwargs})


def _own_engine(home: Path, finished: bool = True) -> Path:
    python = _executable(venv_python(home / VENV_DIR))
    if finished:
        (home / VENV_DIR / MARKER).write_text(json.dumps({"geocolor": "0.1.0"}))
    return python


def test_the_plugins_own_engine_is_used_only_once_its_install_finished(tmp_path):
    home = tmp_path / "profile" / "geocolor"
    python = _own_engine(home, finished=False)  # a half-made one: no marker
    with pytest.raises(EngineNotFound):
        _find(tmp_path, lambda p: True, engine_home=home)
    (home / VENV_DIR / MARKER).write_text("{}")
    found = _find(tmp_path, lambda p: True, engine_home=home)
    assert found == Engine(SUBPROCESS, str(python), "the plugin's engine", clean_env=True)


def test_candidates_are_tried_in_order_and_only_a_working_one_is_taken(tmp_path):
    home = tmp_path / "profile" / "geocolor"
    own = _own_engine(home)
    on_path = _executable(tmp_path / "bin" / "python3")
    conda = _executable(tmp_path / "home" / "miniconda3" / "envs" / "geo" / "bin" / "python")
    (conda.parents[1] / "lib" / "python3.11" / "site-packages" / "geocolor").mkdir(parents=True)
    asked: list[str] = []

    def works(python: str) -> bool:
        asked.append(python)
        return python == str(conda)

    found = _find(tmp_path, works, engine_home=home, which={"python3": str(on_path)}.get)
    assert (found.python, found.found_by) == (str(conda), f"conda environment {conda.parents[1]}")
    assert asked == [str(own), str(on_path), str(conda)]  # own engine, PATH, conda: each proven before use


def test_nothing_that_works_is_engine_not_found(tmp_path):
    _executable(tmp_path / "home" / "anaconda3" / "bin" / "python")
    with pytest.raises(EngineNotFound, match="geocolor engine not found"):
        _find(tmp_path, lambda p: False)


def test_configured_and_inprocess_come_before_any_probe(tmp_path):
    python = _executable(tmp_path / "python")

    def works(p: str) -> bool:
        raise AssertionError("no probe for a configured Python or in-process")

    found = _find(tmp_path, works, environ={"GEOCOLOR_PYTHON": str(python)})
    assert (found.python, found.found_by, found.clean_env) == (str(python), "$GEOCOLOR_PYTHON", False)
    assert _find(tmp_path, works, inprocess=lambda: True).mode == "in-process"


def test_conda_environments_from_prefix_list_and_roots_that_hold_geocolor(tmp_path):
    home = tmp_path / "home"

    def env(prefix: Path, with_geocolor: bool) -> Path:
        python = _executable(prefix / "bin" / "python")
        site = prefix / "lib" / "python3.12" / "site-packages"
        site.mkdir(parents=True)
        if with_geocolor:
            (site / "__editable__.geocolor-0.1.0.pth").write_text("")
        return python

    active = env(tmp_path / "active", True)
    listed = env(tmp_path / "elsewhere" / "listed", True)
    env(home / "miniforge3" / "envs" / "plain", False)  # no geocolor in it: never started
    in_root = env(home / "miniforge3" / "envs" / "geo", True)
    (home / ".conda").mkdir(parents=True)
    (home / ".conda" / "environments.txt").write_text(f"{listed.parents[1]}\n\n")
    found = [c.python for c in conda_candidates({"CONDA_PREFIX": str(active.parents[1])}, home)]
    assert found == [str(active), str(listed), str(in_root)]


def test_a_real_engine_passes_the_probe_and_others_fail_it_quickly(tmp_path):
    discovery.forget(sys.executable)
    assert runs_geocolor(sys.executable)  # this venv: geocolor and a backend
    assert sys.executable in discovery._PROVEN
    hangs = _executable(tmp_path / "hangs", "#!/bin/sh\nsleep 30\n")
    started = time.monotonic()
    assert not runs_geocolor(str(hangs), timeout=1.0)
    assert time.monotonic() - started < 10
    assert not runs_geocolor(str(_executable(tmp_path / "says-ok", "#!/bin/sh\necho nonsense\n")))
    system = "/usr/bin/python3"
    if os.path.exists(system) and os.path.realpath(system) != os.path.realpath(sys.executable):
        assert not runs_geocolor(system, timeout=30)  # no geocolor there


def test_found_engines_run_without_qgis_python_variables(monkeypatch):
    monkeypatch.setenv("PYTHONHOME", "/qgis/apps/Python39")
    monkeypatch.setenv("PYTHONPATH", "/qgis/python")
    clean = Engine(SUBPROCESS, "/x/python", "the plugin's engine", clean_env=True).environment()
    assert "PYTHONHOME" not in clean and "PYTHONPATH" not in clean and clean["PYTHONUNBUFFERED"] == "1"
    configured = Engine(SUBPROCESS, "/x/python", "settings").environment()
    assert configured["PYTHONPATH"] == "/qgis/python"  # what the user set up stays as it is
