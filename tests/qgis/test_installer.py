"""The engine installer without QGIS: install sources, the Python that makes the environment, the marker, failure,
cancel and the lock; and one real ``--without-pip`` environment (the path for a Python without ensurepip)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from geocolor_qgis import installer
from geocolor_qgis.installer import (
    LOCK,
    LOG,
    MARKER,
    VENV_DIR,
    BasePython,
    InstallCancelled,
    InstallError,
    PipProgress,
    base_python_candidates,
    choose_base_python,
    default_requirement,
    describe_python,
    install_engine,
    installed_engine,
    pip_arguments,
    venv_python,
    well_known_pythons,
)
from geocolor_qgis.process import ProcessCancelled

SYSTEM_PYTHON = "/usr/bin/python3"


def _executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_install_sources_become_pip_arguments(tmp_path):
    assert default_requirement("0.1.0") == "geocolor[onnx]~=0.1" and default_requirement("1.4.2") == "geocolor[onnx]~=1.4"
    assert pip_arguments("") == [default_requirement()] and pip_arguments(None) == [default_requirement()]
    checkout = tmp_path / "geocolor src"
    checkout.mkdir()
    (checkout / "setup.cfg").touch()
    assert pip_arguments(str(checkout)) == [f"{checkout}[onnx]"]
    wheel = tmp_path / "geocolor-0.1.0-py3-none-any.whl"
    wheel.touch()
    assert pip_arguments(str(wheel)) == [f"{wheel}[onnx]"]
    wheelhouse = tmp_path / "wheels"
    wheelhouse.mkdir()
    assert pip_arguments(f" {wheelhouse} ") == ["--find-links", str(wheelhouse), default_requirement()]
    assert pip_arguments("geocolor[onnx]==0.2.0") == ["geocolor[onnx]==0.2.0"]


def _base(path: str = "/py", version=(3, 11), venv=True, ensurepip=True, pip=(23, 0)) -> BasePython:
    return BasePython(path, version, venv, ensurepip, pip)


def test_the_base_python_prefers_ensurepip_then_one_whose_pip_can_target_a_venv():
    described = {"/old": _base("/old", (3, 9)), "/nopip": _base("/nopip", ensurepip=False, pip=(22, 0)),
                 "/pip": _base("/pip", ensurepip=False), "/full": _base("/full")}
    assert choose_base_python(["/old", "/nopip", "/pip", "/full"], described.get).path == "/full"
    assert choose_base_python(["/old", "/nopip", "/pip", "/gone"], described.get).path == "/pip"


def test_no_usable_base_python_is_one_actionable_line():
    with pytest.raises(InstallError, match=r"^/nopip cannot create virtual environments .*sudo apt install python3-venv"):
        choose_base_python(["/nopip"], {"/nopip": _base("/nopip", ensurepip=False, pip=None)}.get)
    with pytest.raises(InstallError, match=r"needs Python 3\.11 or newer and found only /old \(3\.9\)"):
        choose_base_python(["/old"], {"/old": _base("/old", (3, 9))}.get)
    with pytest.raises(InstallError, match="GEOCOLOR_BASE_PYTHON"):
        choose_base_python(["/gone"], lambda p: None)


def test_base_python_candidates_skip_the_qgis_program_and_find_the_python_beside_it(tmp_path):
    prefix = tmp_path / "usr"
    inside = _executable(prefix / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}", "")
    found = base_python_candidates("/set/python", executable="/usr/bin/qgis", base_executable="", exec_prefix=str(prefix),
                                   which={"python3": "/usr/bin/python3", "python": "/usr/bin/python3"}.get)
    assert found == ["/set/python", str(inside), "/usr/bin/python3"]


def test_pythons_off_a_gui_apps_path_are_found_newest_first(tmp_path):
    for version in ("310", "311", "312"):
        _executable(tmp_path / "Programs" / "Python" / f"Python{version}" / "python.exe", "")
    found = well_known_pythons("win32", {"LOCALAPPDATA": str(tmp_path)})
    assert [Path(p).parent.name for p in found] == ["Python312", "Python311"]
    assert well_known_pythons("linux", {}) == []


def test_describe_python_reads_version_venv_ensurepip_and_pip():
    me = describe_python(sys.executable)
    assert me is not None and me.version == sys.version_info[:2] and me.venv and me.usable
    assert describe_python("/no/such/python") is None


def test_pip_progress_rises_and_ends_at_its_end():
    progress = PipProgress(0.1, 0.9)
    values = [progress(line) for line in ["Collecting geocolor[onnx]", "  Downloading x.whl", "Processing /w/numpy.whl",
                                          "Collecting rasterio", "Installing collected packages: a, b", "Successfully installed a b"]]
    numbers = [v for v in values if v is not None]
    assert values[1] is None and numbers == sorted(numbers) and numbers[0] > 0.1 and numbers[-1] == 0.9


class FakeRunner:
    """``process.stream`` stand-in: ``venv`` makes a fake interpreter, pip prints ``lines`` and exits ``pip_code``."""

    def __init__(self, check_output: str = "OK 0.1.0 onnxruntime", pip_code: int = 0, lines: tuple[str, ...] = (),
                 cancel_in_pip: bool = False) -> None:
        self.check_output, self.pip_code, self.lines, self.cancel_in_pip = check_output, pip_code, lines, cancel_in_pip
        self.calls: list[list[str]] = []

    def __call__(self, argv, on_line, is_cancelled=None, *, env=None, cwd=None) -> int:
        self.calls.append(list(argv))
        if argv[1:3] == ["-m", "venv"]:
            _executable(venv_python(Path(argv[-1])), f"#!/bin/sh\necho '{self.check_output}'\n")
            return 0
        if self.cancel_in_pip:
            raise ProcessCancelled("pip")
        for line in self.lines or ("Collecting geocolor[onnx]", "Installing collected packages: geocolor",
                                   "Successfully installed geocolor-0.1.0"):
            on_line(line)
        return self.pip_code


def test_install_makes_the_venv_checks_it_and_writes_the_marker_last(tmp_path):
    home = tmp_path / "profile" / "geocolor"
    (home / VENV_DIR / "bin").mkdir(parents=True)  # a half-made one from before: replaced
    (home / VENV_DIR / "leftover").touch()
    runner, seen = FakeRunner(), []
    python = install_engine(home, ["geocolor[onnx]~=0.1"], _base("/base"), seen.append, run=runner)
    assert python == str(venv_python(home / VENV_DIR)) == installed_engine(home)
    assert runner.calls[0] == ["/base", "-m", "venv", str(home / VENV_DIR)]
    assert runner.calls[1][:4] == [python, "-m", "pip", "install"] and runner.calls[1][-1] == "geocolor[onnx]~=0.1"
    assert "--no-input" in runner.calls[1] and not (home / VENV_DIR / "leftover").exists()
    marker = json.loads((home / VENV_DIR / MARKER).read_text())
    assert marker["geocolor"] == "0.1.0" and marker["base_python"] == "/base"
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(set(seen)) >= 4
    assert "Successfully installed geocolor-0.1.0" in (home / LOG).read_text() and not (home / LOCK).exists()


def test_without_ensurepip_the_venv_is_made_without_pip_and_pip_put_in_by_the_base(tmp_path):
    runner = FakeRunner()
    python = install_engine(tmp_path, ["geocolor[onnx]"], _base("/base", ensurepip=False), run=runner)
    assert runner.calls[0] == ["/base", "-m", "venv", "--without-pip", str(tmp_path / VENV_DIR)]
    assert runner.calls[1][:5] == ["/base", "-m", "pip", "--python", python] and runner.calls[1][-1] == "pip"


def test_a_failed_pip_is_one_line_and_leaves_no_engine(tmp_path):
    runner = FakeRunner(pip_code=1, lines=("Collecting geocolor[onnx]~=0.1",
                                           "ERROR: No matching distribution found for geocolor[onnx]~=0.1"))
    with pytest.raises(InstallError) as info:
        install_engine(tmp_path, ["geocolor[onnx]~=0.1"], _base(), run=runner)
    message = str(info.value)
    assert "No matching distribution found for geocolor[onnx]~=0.1" in message and str(tmp_path / LOG) in message
    assert "\n" not in message and not (tmp_path / VENV_DIR).exists() and installed_engine(tmp_path) is None
    assert not (tmp_path / LOCK).exists()


def test_a_package_that_is_not_the_engine_is_refused(tmp_path):
    runner = FakeRunner(check_output="No module named geocolor.qgis_runner")
    with pytest.raises(InstallError, match="is not the geocolor engine.*GEOCOLOR_ENGINE_SOURCE"):
        install_engine(tmp_path, ["geocolor[onnx]"], _base(), run=runner)
    assert not (tmp_path / VENV_DIR).exists()


def test_cancel_removes_the_half_made_environment(tmp_path):
    with pytest.raises(InstallCancelled):
        install_engine(tmp_path, ["geocolor[onnx]"], _base(), run=FakeRunner(cancel_in_pip=True))
    assert not (tmp_path / VENV_DIR).exists() and not (tmp_path / LOCK).exists()


def test_one_install_at_a_time_and_a_dead_installs_lock_is_taken_over(tmp_path):
    (tmp_path / LOCK).write_text(str(os.getpid()))  # a live holder
    with pytest.raises(InstallError, match="another QGIS is installing"):
        install_engine(tmp_path, ["geocolor[onnx]"], _base(), run=FakeRunner())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    (tmp_path / LOCK).write_text(dead)
    assert install_engine(tmp_path, ["geocolor[onnx]"], _base(), run=FakeRunner()) == installed_engine(tmp_path)


def _stand_in_wheel(folder: Path) -> Path:
    """A tiny wheel of a package named geocolor whose runner answers ``check``: enough to prove the environment works."""
    files = {"geocolor/__init__.py": "__version__ = '0.0.1'\n",
             "geocolor/qgis_runner.py": "import sys\nif sys.argv[1:] == ['check']:\n    print('OK 0.0.1 none')\n",
             "geocolor-0.0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: geocolor\nVersion: 0.0.1\n",
             "geocolor-0.0.1.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = [f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},{len(text)}"
              for name, text in files.items()] + ["geocolor-0.0.1.dist-info/RECORD,,"]
    wheel = folder / "geocolor-0.0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr("geocolor-0.0.1.dist-info/RECORD", "\n".join(record) + "\n")
    return wheel


@pytest.mark.slow
def test_a_real_environment_without_ensurepip_gets_pip_from_the_base_pythons_pip(tmp_path):
    base = describe_python(SYSTEM_PYTHON) if os.path.exists(SYSTEM_PYTHON) else None
    if base is None or not base.pip_can_target or base.version < installer.MIN_PYTHON:
        pytest.skip(f"needs {SYSTEM_PYTHON} 3.11+ with pip 22.3+")
    forced = BasePython(base.path, base.version, base.venv, False, base.pip)  # as if python3-venv were missing
    wheel = _stand_in_wheel(tmp_path)
    python = install_engine(tmp_path / "home", ["--no-index", "--no-deps", str(wheel)], forced)
    assert python == installed_engine(tmp_path / "home")
    cfg = (tmp_path / "home" / VENV_DIR / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in cfg  # QGIS's packages stay invisible
    run = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True)
    assert run.returncode == 0 and str(tmp_path / "home" / VENV_DIR) in run.stdout  # its own pip, for later upgrades
