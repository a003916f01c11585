"""Helpers for the harvest tests: the TiTiler URLs, the fault-injecting proxy, a standard harvest config.

The NAIP tile comes from ``../shared/data/naip`` (US public domain; see that folder's README).
The proxy forwards with the client's ``Host`` so TiTiler's capabilities point tile URLs back at the
proxy, and it can answer any request with a fault instead.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import morecantile
import pyproj
import shapely

from geocolor.aoi import AOI, reproject_geometry

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("GEOCOLOR_SHARED_DATA", REPO.parent / "shared" / "data"))
NAIP = SHARED / "naip" / "m_4709963_se_14_1_20200831.tif"
SAMPLE_AOI = REPO / "sample_shapefiles" / "naip_aoi.shp"
BANDS = "&bidx=1&bidx=2&bidx=3"  # NAIP is RGBN: ask TiTiler for RGB (plus its alpha mask)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 90.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@contextlib.contextmanager
def titiler_server(log_dir: Path) -> Iterator[str]:
    """A real TiTiler (uvicorn in its own process) on a free 127.0.0.1 port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "GDAL_CACHEMAX": "64", "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif"}
    with open(log_dir / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "titiler.application.main:app", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{base}/healthz", proc=proc)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


class QuietServer(http.server.ThreadingHTTPServer):
    """Clients that gave up (timeouts, on purpose) make the handler's late write fail: not an error here."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass


@contextlib.contextmanager
def serve_proxy(upstream: str) -> Iterator[FaultProxy]:
    """A ``FaultProxy`` in front of ``upstream``, served on a free 127.0.0.1 port in a thread."""
    fp = FaultProxy(upstream=upstream, port=free_port())
    server = QuietServer(("127.0.0.1", fp.port), make_handler(fp))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fp
    finally:
        server.shutdown()
        server.server_close()


def layer_name(tms: str) -> str:
    return f"{NAIP}_{tms}_default"


def caps_url(base: str) -> str:
    return f"{base}/cog/WMTSCapabilities.xml?url={NAIP}{BANDS}"


@dataclass
class Seen:
    """One request the proxy received."""

    path: str
    time: float
    headers: dict[str, str]
    answer: str = "forward"


Fault = Callable[[str, int], str | None]  # (path, attempt number of this path) -> fault name or None


@dataclass
class FaultProxy:
    """An HTTP proxy in front of TiTiler; ``fault(path, attempt)`` may answer with a fault instead.

    Faults: "500", "503", "403", "404", "429" (with Retry-After: 1), "slow" (wait ``slow_s``, then
    forward), "drop" (close the connection without an answer), "truncate" (half the body, then close),
    "blank" (a fully transparent 256x256 PNG), "xml" (HTTP 200 with an XML error document).
    Hostile ones: "endless" (a body that never ends), "drip" (one byte every 0.2 s, for ever), "bomb"
    (a PNG whose header claims 11000 x 11000 pixels), "html" (HTTP 200 with an HTML error page),
    "loop" (a redirect to itself), "away" (a redirect to the same proxy under another host name,
    ``localhost``: another origin, where the request is forwarded as usual).
    """

    upstream: str
    port: int
    slow_s: float = 8.0
    delay_s: float = 0.0  # added to every tile request (to make runs last long enough to kill)
    fault: Fault | None = None
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self, fault: Fault | None = None, delay_s: float = 0.0) -> None:
        with self.lock:
            self.seen.clear()
        self.fault, self.delay_s = fault, delay_s

    def tile_requests(self) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if "/tiles/" in s.path]

    def attempts(self, path: str) -> int:
        with self.lock:
            return sum(1 for s in self.seen if s.path == path)


def _blank_png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGBA", (256, 256), (0, 0, 0, 0)).save(buf, format="PNG")
    return buf.getvalue()


XML_ERROR = b"<?xml version='1.0'?><ExceptionReport><Exception>TileOutOfRange</Exception></ExceptionReport>"


class FaultHandler(http.server.BaseHTTPRequestHandler):
    """Forwards to ``proxy.upstream`` (keeping the client's Host), or answers with the fault ``proxy.fault`` picks."""

    protocol_version = "HTTP/1.1"
    proxy: FaultProxy
    blank: bytes

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        proxy = self.proxy
        seen = Seen(self.path, time.monotonic(), {k.lower(): v for k, v in self.headers.items()})
        with proxy.lock:
            proxy.seen.append(seen)
            attempt = sum(1 for s in proxy.seen if s.path == self.path)
        is_tile = "/tiles/" in self.path
        fault = proxy.fault(self.path, attempt) if proxy.fault and is_tile else None
        seen.answer = fault or "forward"
        time.sleep(proxy.delay_s if is_tile else 0.0)
        if fault == "slow":
            time.sleep(proxy.slow_s)
        if fault in (None, "slow", "truncate"):
            self._forward(truncate=fault == "truncate")
        elif fault in ("endless", "drip"):
            self._stream_for_ever(chunk=65536 if fault == "endless" else 1, pause=0.0 if fault == "endless" else 0.2)
        elif fault == "bomb":
            self._send(200, bomb_png(), "image/png")
        elif fault == "html":
            self._send(200, b"<html><body><h1>Service temporarily unavailable</h1></body></html>", "text/html")
        elif fault == "loop":
            self._send(302, b"", "text/plain", {"Location": self.path})
        elif fault == "away":
            self._send(302, b"", "text/plain", {"Location": f"http://localhost:{proxy.port}{self.path}&moved=1"})
        elif fault == "drop":
            self._hang_up()
        elif fault == "blank":
            self._send(200, self.blank, "image/png")
        elif fault == "xml":
            self._send(200, XML_ERROR, "application/xml")
        else:
            self._send(int(fault), f"injected {fault}".encode(), "text/plain", {"Retry-After": "1"} if fault == "429" else None)

    def _forward(self, truncate: bool) -> None:
        req = urllib.request.Request(self.proxy.upstream + self.path, headers={"Host": self.headers.get("Host", "")})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, body, ctype = r.status, r.read(), r.headers.get("content-type", "")
        except urllib.error.HTTPError as e:
            status, body, ctype = e.code, e.read(), e.headers.get("content-type", "")
        self._send(status, body, ctype, cut=len(body) // 2 if truncate else None)

    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None, cut: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body if cut is None else body[:cut])
        if cut is not None:  # announced the whole body, sent half: hang up
            self.wfile.flush()
            self._hang_up()

    def _stream_for_ever(self, chunk: int, pause: float) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()  # no Content-Length: the body ends when the connection does
        self.close_connection = True
        try:
            while True:
                self.wfile.write(b"\x89" * chunk)
                self.wfile.flush()
                if pause:
                    time.sleep(pause)
        except OSError:  # the client hung up: what the test wants
            pass

    def _hang_up(self) -> None:
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


def bomb_png(side: int = 11000) -> bytes:
    """A tiny PNG whose header claims ``side`` x ``side`` RGBA pixels (about 480 MB once decoded)."""
    import io
    import struct
    import zlib

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGBA", (1, 1)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    ihdr = data[12:29]  # chunk type + 13 bytes of IHDR data
    ihdr[4:12] = struct.pack(">II", side, side)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return bytes(data)


def make_handler(proxy: FaultProxy) -> type[FaultHandler]:
    return type("BoundFaultHandler", (FaultHandler,), {"proxy": proxy, "blank": _blank_png()})


def sample_config(base: str, out: Path, tms: str = "WebMercatorQuad", zoom: str = "15", **kw: object):  # -> HarvestConfig
    from geocolor.aoi import aoi_from_file
    from geocolor.harvest import HarvestConfig, RetryPolicy

    kw.setdefault("rate", None)
    kw.setdefault("workers", 4)
    kw.setdefault("retry", RetryPolicy(attempts=4, backoff=0.05, max_backoff=0.2))
    kw.setdefault("aoi", aoi_from_file(SAMPLE_AOI))
    return HarvestConfig(out=out, zoom=zoom, url=caps_url(base), layer=layer_name(tms), **kw)  # type: ignore[arg-type]


def reference_tiles(tms_id: str, zoom: int, aoi: AOI) -> set[tuple[int, int]]:
    """Independent selection: tile outlines from morecantile's registry, densified, reprojected into
    the AOI's CRS, kept when their overlap with the polygon has an area."""
    tms = morecantile.tms.get(tms_id)
    w, s, e, n = aoi.to_crs("OGC:CRS84").geometry.bounds
    geo = (w - 0.05, s - 0.05, e + 0.05, n + 0.05)  # margin: a box's corners miss bulging edges in conic grids
    tms_crs = pyproj.CRS.from_wkt(tms.crs.to_wkt())
    found = set()
    for t in tms.tiles(*geo, [zoom]):
        b = tms.xy_bounds(t)
        outline = reproject_geometry(shapely.box(b.left, b.bottom, b.right, b.top), tms_crs, aoi.crs)
        if outline.intersection(aoi.geometry).area > 1e-6:
            found.add((t.x, t.y))
    return found


def tile_georef_errors(path: Path, tms_id: str, zoom: int, col: int, row: int) -> list[str]:
    """What is wrong with a tile GeoTIFF's georeference against morecantile's registry ([] if nothing)."""
    import rasterio
    from rasterio.enums import ColorInterp

    tms = morecantile.tms.get(tms_id)
    b = tms.xy_bounds(col, row, zoom)
    m = tms.matrix(zoom)
    errors = []
    with rasterio.open(path) as ds:
        if pyproj.CRS.from_wkt(ds.crs.to_wkt()) != pyproj.CRS.from_wkt(tms.crs.to_wkt()):
            errors.append(f"CRS {ds.crs} is not {tms.crs.srs}")
        if (ds.width, ds.height, ds.count) != (m.tileWidth, m.tileHeight, 4) or ds.colorinterp[3] != ColorInterp.alpha:
            errors.append(f"shape {ds.count}x{ds.height}x{ds.width} / colorinterp {ds.colorinterp}")
        got = ds.bounds
        tol = 1e-6 * max(abs(b.left), abs(b.top), 1.0)
        if any(abs(x - y) > tol for x, y in zip(got, (b.left, b.bottom, b.right, b.top), strict=True)):
            errors.append(f"bounds {tuple(got)} != {tuple(b)}")
    return errors


def vrt_source_agreement(vrt: Path, source: Path) -> tuple[float, int]:
    """Fraction of the VRT's opaque pixels whose RGB equals the source pixel under their centre, and how many."""
    import numpy as np
    import rasterio
    from rasterio.transform import rowcol, xy

    with rasterio.open(source) as src, rasterio.open(vrt) as v:
        s = src.read([1, 2, 3])
        a = v.read()
        rows, cols = np.mgrid[0 : v.height, 0 : v.width]
        xs, ys = xy(v.transform, rows.ravel(), cols.ravel())
        t = pyproj.Transformer.from_crs(pyproj.CRS.from_wkt(v.crs.to_wkt()), pyproj.CRS.from_wkt(src.crs.to_wkt()), always_xy=True)
        r, c = (np.asarray(i) for i in rowcol(src.transform, *t.transform(np.asarray(xs), np.asarray(ys))))
        inside = (r >= 0) & (r < src.height) & (c >= 0) & (c < src.width) & (a[3].ravel() == 255)
        got = a[:3].reshape(3, -1)[:, inside]
        return float((got == s[:, r[inside], c[inside]]).all(axis=0).mean()), int(inside.sum())


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:  # noqa: ANN001 (pytest fixtures)
    """Run ``geocolor ARGS`` in-process through ``cli.main``; (exit code, stdout, stderr)."""
    import sys

    from geocolor import cli

    monkeypatch.setattr(sys, "argv", ["geocolor", *args])
    code = 0
    try:
        cli.main()
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err
