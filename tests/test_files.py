"""The one atomic-write helper: the target changes only when writing succeeded, no temp file outlives
a write, and written files honour the umask (temp files renamed into place are not left private)."""

from __future__ import annotations

import json
import os
import stat
import threading

import numpy as np
import pytest

from geocolor.dataset.io import write_json, write_png
from geocolor.errors import GeocolorIOError
from geocolor.files import atomic_path, current_umask, write_bytes_atomic, write_json_atomic, write_text_atomic


def test_atomic_writers_honour_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "a.json", {"a": 1})
        write_png(tmp_path / "b.png", np.zeros((4, 4), np.uint8))
        write_json_atomic(tmp_path / "c.json", {"c": 1})
    finally:
        os.umask(old)
    for name in ("a.json", "b.png", "c.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name


@pytest.mark.parametrize("umask", [0o002, 0o027, 0o077])
def test_permissions_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        assert current_umask() == umask
        with atomic_path(tmp_path / "x.bin") as tmp:
            assert stat.S_IMODE(tmp.stat().st_mode) == 0o600  # private while being written
            tmp.write_bytes(b"x")
        write_text_atomic(tmp_path / "y.txt", "y")
    finally:
        os.umask(old)
    for name in ("x.bin", "y.txt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask, name


def test_target_is_replaced_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        tmp.write_text("half a new")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]  # the temp file is gone
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".out.txt.") and tmp.name.endswith(".tmp")
        tmp.write_text("new")
        assert target.read_text() == "old"  # nothing visible before the block ends
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_a_failed_rename_is_a_one_line_io_error_and_leaves_no_temp(tmp_path, monkeypatch):
    def boom(*_a: object) -> None:
        raise OSError(28, "No space left on device")

    target = tmp_path / "sub" / "m.json"
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(GeocolorIOError, match=r"cannot write .*m\.json: No space left on device") as err:
        write_json_atomic(target, {"a": 1})
    assert isinstance(err.value, OSError) and "\n" not in str(err.value)
    assert list((tmp_path / "sub").iterdir()) == []  # parent made, temp removed, no target


def test_json_is_checked_before_any_file_is_touched(tmp_path):
    target = tmp_path / "m.json"
    write_json_atomic(target, {"a": 1})
    with pytest.raises(ValueError):
        write_json_atomic(target, {"a": float("nan")})
    with pytest.raises(TypeError):
        write_json_atomic(target, {"a": object()})
    assert json.loads(target.read_text()) == {"a": 1}
    write_json_atomic(target, {"b": 1, "a": float("inf")}, indent=1, sort_keys=True, allow_nan=True)
    assert target.read_text() == '{\n "a": Infinity,\n "b": 1\n}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_suffix_and_fsync(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    with atomic_path(tmp_path / "t.tif", suffix=".part", fsync=True) as tmp:
        assert tmp.name.endswith(".part")
        tmp.write_bytes(b"tile")
    write_bytes_atomic(tmp_path / "u.bin", b"u")  # fsync is off by default
    assert len(synced) == 1 and (tmp_path / "t.tif").read_bytes() == b"tile"


def test_concurrent_writers_never_loosen_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        threads = [threading.Thread(target=write_bytes_atomic, args=(tmp_path / f"{i}.bin", b"x")) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert current_umask() == 0o027
    finally:
        os.umask(old)
    assert {stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()} == {0o640}
