"""``python -m geocolor.plugin_zip`` builds a zip QGIS can install: one ``geocolor_qgis/`` folder, sources, metadata."""

from __future__ import annotations

import configparser
import subprocess
import sys
import zipfile

from geocolor.plugin_zip import PLUGIN_DIR, plugin_version


def test_zip_command_builds_an_installable_plugin(tmp_path):
    (PLUGIN_DIR / "__pycache__").mkdir(exist_ok=True)
    out = tmp_path / "plugin.zip"
    run = subprocess.run([sys.executable, "-m", "geocolor.plugin_zip", str(out)], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == str(out)
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        meta = configparser.ConfigParser(interpolation=None)
        meta.read_string(archive.read("geocolor_qgis/metadata.txt").decode())
        init = archive.read("geocolor_qgis/__init__.py").decode()
    assert {n.split("/")[0] for n in names} == {"geocolor_qgis"}
    expected = {"__init__.py", "metadata.txt", "plugin.py", "task.py", "engine.py", "dialog.py", "provider.py", "algorithms.py"}
    assert {f"geocolor_qgis/{n}" for n in expected} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert meta.get("general", "qgisMinimumVersion") == "3.22" and meta.get("general", "version") == plugin_version()
    assert f"geocolor_qgis/{meta.get('general', 'icon')}" in names
    assert "def classFactory(iface" in init
