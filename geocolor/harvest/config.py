"""The parameters of one harvest, as one value object the CLI, a pipeline or the QGIS plugin fills in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from geocolor.aoi import AOI
from geocolor.errors import ConfigError
from geocolor.harvest.fetcher import DEADLINE, MAX_BYTES, RetryPolicy

DEFAULT_WORKERS = 8
DEFAULT_RATE = 20.0  # requests per second, all workers together
DEFAULT_MAX_TILES = 100_000  # about 1.4 h at the default rate: more is refused unless asked for


@dataclass(frozen=True)
class HarvestConfig:
    """What to harvest (a WMTS layer or an XYZ template), where (AOI, zoom), into which folder, and how politely.

    Exactly one of ``url`` (a WMTS capabilities URL, with ``layer``) or ``xyz`` (a URL template with
    ``{z}``, ``{x}`` and ``{y}`` or ``{-y}``) is given. ``zoom`` is a tile matrix identifier of the
    chosen TMS (for XYZ, the zoom number). ``tms`` picks the tile matrix set; by default the best of
    the layer's for the AOI. ``rate`` caps requests per second (None: no cap).
    """

    out: Path
    aoi: AOI
    zoom: str
    url: str | None = None
    layer: str | None = None
    xyz: str | None = None
    tms: str | None = None
    style: str | None = None
    format: str | None = None
    dimensions: Mapping[str, str] = field(default_factory=dict)
    workers: int = DEFAULT_WORKERS
    rate: float | None = DEFAULT_RATE
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 30.0
    deadline: float = DEADLINE  # seconds per tile, retries included
    max_bytes: int = MAX_BYTES  # largest response body accepted
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    tile_size: int = 256
    max_tiles: int = DEFAULT_MAX_TILES  # 0: no limit
    overwrite: bool = False
    error_checksums: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        object.__setattr__(self, "zoom", str(self.zoom).strip())
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` with a hint when the parameters cannot work together."""
        if (self.url is None) == (self.xyz is None):
            raise ConfigError("give either a WMTS capabilities URL (--url with --layer) or an XYZ template (--xyz), not both")
        if self.url is not None and not self.layer:
            raise ConfigError("--url needs --layer; run with --list to see the server's layers")
        if self.xyz is not None:
            if not re.fullmatch(r"\d+", self.zoom):
                raise ConfigError(f"XYZ zoom must be a whole number, got {self.zoom!r}")
            if "{z}" not in self.xyz or "{x}" not in self.xyz or ("{y}" not in self.xyz and "{-y}" not in self.xyz):
                raise ConfigError(f"XYZ template needs {{z}}, {{x}} and {{y}} (or {{-y}}): {self.xyz}")
        for what, url in (("--url", self.url), ("--xyz", self.xyz)):
            if url is not None:
                check_url(url, what)
        if self.workers < 1:
            raise ConfigError(f"workers must be at least 1, got {self.workers}")
        if self.rate is not None and self.rate <= 0:
            raise ConfigError(f"rate must be a positive number of requests per second, got {self.rate}")
        if self.timeout <= 0 or self.retry.attempts < 1 or not self.deadline > 0 or self.max_bytes < 1:
            raise ConfigError("timeout, deadline and max bytes must be positive and retry attempts at least 1")
        if self.max_tiles < 0:
            raise ConfigError(f"max tiles must be 0 (no limit) or positive, got {self.max_tiles}")
        if self.tile_size < 1:
            raise ConfigError(f"tile size must be positive, got {self.tile_size}")


def check_url(url: str, what: str = "URL") -> None:
    """Refuse a URL that is not http(s) with a host, in one line (``ConfigError``)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as e:
        raise ConfigError(f"{what} {url!r} is not a valid URL ({e})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{what} {url!r} must be an http:// or https:// URL with a host")


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` (or ``Name=value``) as a (name, value) pair for an HTTP header."""
    sep = ":" if ":" in text else "="
    name, _, value = text.partition(sep)
    if not name.strip() or not _ or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name.strip()):
        raise ConfigError(f"header {text!r} is not 'Name: value'")
    return name.strip(), value.strip()


def parse_assignment(text: str) -> tuple[str, str]:
    """``"NAME=VALUE"`` as a pair (for WMTS dimensions such as Time)."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ConfigError(f"{text!r} is not NAME=VALUE")
    return name.strip(), value.strip()
