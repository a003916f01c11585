"""Colour (or inpaint) an archive of rasters on a Dask cluster: one task per raster, or per window of a large one.

``colorize_archive(client, pairs, options)`` submits, for every (input, output) pair whose output is
not there yet, one ``colorize`` task, or, for a raster of more than ``split_size`` squared pixels,
one task per window (``geocolor.cluster.split``) and a join task that depends on them
(``geocolor.mosaic.parts``: the join equals a serial run byte for byte). ``inpaint_archive`` does the
same with one ``inpaint`` task per raster. Outputs appear whole or not at all (``geocolor.cluster.tasks``);
a rerun skips finished outputs and finished windows; tasks of a worker that dies are run again
elsewhere by the scheduler. A raster that fails does not stop the others: the failures are reported
together at the end and a rerun retries them.

Inputs and the output folder must be on storage every worker and this process see at the same paths.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geocolor.cluster.progress import track
from geocolor.cluster.split import DEFAULT_SPLIT_SIZE, Region, needs_split, split_raster
from geocolor.cluster.tasks import colorize_task, inpaint_task, join_task, parts_dir, remove_leftovers, window_task
from geocolor.errors import GeocolorError, InputError
from geocolor.mosaic.batch import archive_pairs as archive_pairs  # re-exported: the pairs a cluster run takes
from geocolor.types import PathLike

if TYPE_CHECKING:
    from distributed import Client, Future

    from geocolor.inpaint.engine import InpaintOptions
    from geocolor.mosaic.engine import MosaicOptions

log = logging.getLogger(__name__)

Pair = tuple[PathLike, PathLike]


@dataclass
class ArchiveResult:
    """What a cluster run did: the outputs made now (their results), the outputs already there, the failures."""

    made: list[Any] = field(default_factory=list)  # MosaicResult / InpaintResult of each output written in this run
    skipped: list[Path] = field(default_factory=list)
    windows: int = 0  # window tasks of split rasters
    seconds: float = 0.0

    def summary(self) -> str:
        split = f" ({self.windows} windows of split rasters)" if self.windows else ""
        return f"{len(self.made)} raster(s) written{split}, {len(self.skipped)} already done, in {self.seconds:.1f} s"


def colorize_archive(client: Client, pairs: Sequence[Pair], options: MosaicOptions, *, split_size: int = DEFAULT_SPLIT_SIZE,
                     show_progress: bool = True) -> ArchiveResult:
    """Colour every (input, output) pair on the cluster ``client`` talks to (see module docstring)."""
    return colorize_jobs(client, [(src, dst, options) for src, dst in pairs], split_size=split_size, show_progress=show_progress)


def colorize_jobs(client: Client, jobs: Sequence[tuple[PathLike, PathLike, MosaicOptions]], *, split_size: int = DEFAULT_SPLIT_SIZE,
                  show_progress: bool = True) -> ArchiveResult:
    """``colorize_archive`` with options of its own for each (input, output) pair (several models in one run)."""
    from geocolor.style.apply import AUTO

    if any(o.style == AUTO for _, _, o in jobs):
        raise InputError("--style auto pools every input's palette in one process; give a reference raster or a named style "
                         "with --scheduler, or run without it")
    options = {Path(dst): replace(o, show_progress=False) for _, dst, o in jobs}

    def submit(src: Path, dst: Path) -> tuple[list[Future], Future]:
        opts = options[dst]
        regions = _regions(src, opts, split_size)
        if not regions:
            return [], client.submit(colorize_task, str(src), str(dst), opts, key=_key("colorize", dst), pure=False)
        folder = parts_dir(dst, _digest(src, opts, regions))
        remove_leftovers(dst, keep=folder)
        parts = [(str(folder / f"{r.name}.tif"), r.box) for r in regions]
        for part, _ in parts:
            remove_leftovers(Path(part))
        windows = [client.submit(window_task, str(src), part, r.cols, r.rows, opts, key=_key("window", dst), pure=False)
                   for (part, _), r in zip(parts, regions)]
        return windows, client.submit(join_task, str(src), str(dst), parts, opts, *windows, key=_key("join", dst), pure=False)

    return _run([(src, dst) for src, dst, _ in jobs], lambda dst: options[dst].overwrite, submit, "colorize", show_progress)


def inpaint_archive(client: Client, pairs: Sequence[Pair], options: InpaintOptions, *, show_progress: bool = True) -> ArchiveResult:
    """Fill the holes of every (input, output) pair on the cluster, one task per raster (see module docstring)."""
    if options.mask is not None and len(pairs) > 1:
        raise InputError("--mask belongs to one input; inpaint several inputs with their own nodata instead")
    opts = replace(options, show_progress=False)

    def submit(src: Path, dst: Path) -> tuple[list[Future], Future]:
        return [], client.submit(inpaint_task, str(src), str(dst), opts, key=_key("inpaint", dst), pure=False)

    return _run(pairs, lambda dst: options.overwrite, submit, "inpaint", show_progress)


def _run(pairs: Sequence[Pair], overwrite: Callable[[Path], bool], submit: Callable[[Path, Path], tuple[list[Future], Future]], desc: str,
         show_progress: bool) -> ArchiveResult:
    started = time.perf_counter()
    result = ArchiveResult()
    checked = _checked(pairs)
    finals: dict[str, Path] = {}
    owners: dict[str, Path] = {}
    futures: list[Future] = []
    for src, dst in checked:
        remove_leftovers(dst, files_only=not dst.exists())  # a finished output's parts are of no more use
        if dst.exists() and not overwrite(dst):
            result.skipped.append(dst)
            continue
        windows, final = submit(src, dst)
        result.windows += len(windows)
        finals[str(final.key)] = dst
        for f in [*windows, final]:
            owners[str(f.key)] = dst
            futures.append(f)
    if result.skipped:
        log.info("%d output(s) already exist and are skipped", len(result.skipped))
    failed: dict[Path, BaseException] = {}
    for future in track(futures, desc, show=show_progress):
        dst = owners[str(future.key)]
        if future.status == "error":
            failed.setdefault(dst, future.exception())
        elif str(future.key) in finals:
            made = future.result()
            result.made.append(made) if made is not None else result.skipped.append(dst)
    for _, dst in checked:  # attempt files of workers that died (their tasks ran again elsewhere)
        remove_leftovers(dst, files_only=not dst.exists())
    result.seconds = time.perf_counter() - started
    if failed:
        raise _failure(failed, len(finals))
    return result


def _checked(pairs: Sequence[Pair]) -> list[tuple[Path, Path]]:
    """The pairs as paths, refused at once when an input is missing or two pairs write one output."""
    out: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    for src, dst in pairs:
        s, d = Path(src), Path(dst)
        if not s.is_file():
            raise InputError(f"input {s} does not exist")
        if d.resolve() in seen:
            raise InputError(f"two inputs would both write {d}")
        if d.resolve() == s.resolve():
            raise InputError(f"output {d} is the input; choose another output path")
        seen.add(d.resolve())
        out.append((s, d))
    return out


def _failure(failed: dict[Path, BaseException], total: int) -> GeocolorError:
    dst, first = next(iter(failed.items()))
    if len(failed) == 1 and isinstance(first, GeocolorError):
        return first
    why = str(first).splitlines()[0][:200] if str(first) else type(first).__name__
    return GeocolorError(f"{len(failed)} of {total} raster(s) failed (first, {dst.name}: {why}); "
                         "finished outputs are kept: rerun the same command to retry the rest")


def _key(kind: str, dst: Path) -> str:
    return f"geocolor-{kind}-{dst.stem}-{uuid.uuid4().hex[:8]}"


def _regions(src: Path, opts: MosaicOptions, split_size: int) -> list[Region]:
    """The windows of ``src`` when it is coloured in windows, else []."""
    from geocolor.raster import open_raster

    if opts.style is not None or opts.dodge or opts.fill_nodata:
        return []  # these need the whole raster in one process
    with open_raster(str(src)) as ds:
        width, height = ds.width, ds.height
    if not needs_split(width, height, split_size):
        return []
    tile = opts.tile or _model_tile(opts)
    if not 0 <= opts.overlap < tile // 2 + 1:
        raise InputError(f"--overlap {opts.overlap} must be between 0 and half the tile ({tile // 2})")
    return split_raster(width, height, tile, opts.overlap, opts.band_width, split_size)


def _model_tile(opts: MosaicOptions) -> int:
    from geocolor.models import default_model_for
    from geocolor.models.io import read_model_file

    return int(read_model_file(opts.model or default_model_for(opts.style))["metadata"]["tile_size"])


def _digest(src: Path, opts: MosaicOptions, regions: list[Region]) -> str:
    """Names the parts of one input coloured with one set of options: parts of other options are never reused."""
    stat = src.stat()
    model = Path(opts.model).stat().st_mtime_ns if opts.model and Path(opts.model).exists() else None
    text = repr((str(src.resolve()), stat.st_size, stat.st_mtime_ns, str(opts.model), model, opts.tile, opts.overlap, opts.device,
                 opts.bands, opts.percentiles, opts.compress, opts.band_width, [r.name for r in regions]))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def colorize_on(scheduler: str, jobs: Sequence[tuple[PathLike, PathLike, MosaicOptions]], show_progress: bool = True) -> ArchiveResult:
    """Connect to ``scheduler`` (``geocolor.cluster.scheduler``), run ``colorize_jobs``, disconnect: for stages
    such as ``adapt``'s colorize step that hand their rasters over in one call."""
    from geocolor.cluster.scheduler import connect, describe

    with connect(scheduler) as client:
        log.info("%s", describe(client))
        return colorize_jobs(client, jobs, show_progress=show_progress)
