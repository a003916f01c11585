"""``geocolor run PIPELINE.yaml``: a chain of steps from one file, each step's output feeding the next.

A pipeline file::

    name: area_example
    workdir: runs/area_example          # relative paths below are relative to the pipeline file
    steps:
      tiles:                            # a step id, then one step kind with its options
        harvest: {url: http://.../WMTSCapabilities.xml, layer: ..., bbox: "-99.2,47.0,-99.1,47.1", zoom: "15"}
      chips:
        dataset: {src: [$tiles], size: 256}
      model:
        train: {data: $chips, steps: 200}
      colour:
        mosaic: {input: scan.tif, model: $model}

Kinds: ``harvest`` (output: the tiles' VRT), ``dataset`` (the dataset folder), ``train`` (the run's
``best.pt``; given a dataset it takes the tile size and generator depth from its chips), ``evaluate``
(the report folder), ``mosaic`` (the coloured GeoTIFF), ``adapt`` (its output folder). A value
``$ID`` is the output of the earlier step ``ID``. A step without ``out`` writes under
``workdir/ID``. ``{here}`` in any value is the pipeline file's folder (absolute), for URLs that must
name a local file. Every key is checked against the step kind's options dataclass: an unknown step
kind, an unknown or missing key, a wrong type or a reference to a later or unknown step is a
one-line ``ConfigError`` before anything runs.

A finished step leaves ``workdir/.steps/ID.json`` (its options, output and when it finished); a rerun
skips a step whose options are unchanged, whose output is still there and whose input steps were not
run again (a step that runs again makes every step using its output run again), so an interrupted pipeline continues
where it stopped (each step also resumes on its own: harvest skips tiles on disk, training resumes
from its checkpoint). A train step whose recipe changed (anything but steps, minutes, threads, device and
speed settings: ``geocolor.train.config.RESUMABLE``) trains afresh; the earlier run folder is kept beside
it as ``<name>.before-<time>``. A failed step stops the chain with one line naming the step.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geocolor.configs import build, read_mapping
from geocolor.errors import ConfigError, GeocolorError
from geocolor.files import write_json_atomic
from geocolor.types import PathLike

log = logging.getLogger(__name__)


@dataclass
class HarvestStep:
    zoom: str
    url: str | None = None
    layer: str | None = None
    xyz: str | None = None
    bbox: str | None = None
    bbox_crs: str = "EPSG:4326"
    aoi: str | None = None
    tms: str | None = None
    out: str | None = None
    workers: int = 4
    rate: float | None = None


@dataclass
class DatasetStep:
    src: list[str]
    out: str | None = None
    size: int = 256
    degrade: str = "film"
    options: dict[str, Any] = field(default_factory=dict)  # any other DatasetConfig key


@dataclass
class TrainStep:
    data: str | None = None  # a dataset folder (tile size and generator follow its chips)
    config: str | None = None  # a training config (its data is replaced by ``data`` when both are given)
    name: str | None = None
    out_dir: str | None = None
    steps: int | None = None
    set: dict[str, Any] = field(default_factory=dict)  # overrides, as with ``geocolor train --set``


@dataclass
class EvaluateStep:
    data: str
    model: list[str] = field(default_factory=list)
    split: str = "test"
    out: str | None = None


@dataclass
class MosaicStep:
    input: str
    out: str | None = None
    model: str | None = None
    style: str | None = None
    dodge: float = 0.0
    fill_nodata: bool = False
    bands: list[int] | None = None  # the gray band, or three colour bands read as gray (default: the input's one band)


@dataclass
class AdaptStep:
    scans: list[str]
    out: str | None = None
    from_rasters: list[str] = field(default_factory=list)
    wmts: str | None = None
    layer: str | None = None
    xyz: str | None = None
    zoom: str | None = None
    bbox: str | None = None
    bbox_crs: str = "EPSG:4326"
    buffer_m: float = 500.0
    minutes: float = 15.0
    model: str | None = None
    restraint: float = 1.0
    false_colour_max: float | None = None
    tone_match: bool = True


KINDS: dict[str, type] = {"harvest": HarvestStep, "dataset": DatasetStep, "train": TrainStep, "evaluate": EvaluateStep,
                          "mosaic": MosaicStep, "adapt": AdaptStep}
PATH_KEYS = {"out", "aoi", "src", "data", "config", "out_dir", "model", "input", "scans", "from_rasters", "style"}


@dataclass
class Step:
    id: str
    kind: str
    options: Any


@dataclass
class Pipeline:
    name: str
    workdir: Path
    base: Path  # the pipeline file's folder: relative paths start here
    steps: list[Step]


def load_pipeline(path: str | Path) -> Pipeline:
    """Read and check a pipeline file (see the module docstring); nothing runs."""
    path = Path(path)
    base = path.resolve().parent
    tree = _here(read_mapping(path, "pipeline"), str(base))
    unknown = set(tree) - {"name", "workdir", "steps"}
    if unknown:
        raise ConfigError(f"{path.name}: unknown key(s) {', '.join(sorted(unknown))}; a pipeline has name, workdir and steps")
    raw = tree.get("steps")
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{path.name}: steps must be a mapping of step ids to steps, e.g. tiles: {{harvest: {{...}}}}")
    workdir = (base / str(tree.get("workdir", f"runs/{path.stem}"))).resolve()
    steps: list[Step] = []
    for step_id, body in raw.items():
        where = f"{path.name}: step {step_id}"
        if not isinstance(body, dict) or len(body) != 1:
            raise ConfigError(f"{where} must hold exactly one step kind ({', '.join(KINDS)}) with its options")
        kind, options = next(iter(body.items()))
        if kind not in KINDS:
            raise ConfigError(f"{where}: unknown step kind {kind!r}; choose one of {', '.join(KINDS)}")
        options = options or {}
        if not isinstance(options, dict):
            raise ConfigError(f"{where}: the options of {kind} must be a mapping")
        cls = KINDS[kind]
        missing = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING and f.name not in options]
        if missing:
            raise ConfigError(f"{where}: {kind} needs {', '.join(missing)}")
        try:
            parsed = build(cls, options, f"steps.{step_id}.{kind}")
        except ConfigError as e:
            raise ConfigError(f"{path.name}: {e}") from None
        _check_refs(parsed, [s.id for s in steps], where)
        steps.append(Step(str(step_id), kind, parsed))
    return Pipeline(str(tree.get("name", path.stem)), workdir, base, steps)


def _here(value: Any, here: str) -> Any:
    if isinstance(value, str):
        return value.replace("{here}", here)
    if isinstance(value, list):
        return [_here(v, here) for v in value]
    if isinstance(value, dict):
        return {k: _here(v, here) for k, v in value.items()}
    return value


def _refs(value: Any) -> list[str]:
    if isinstance(value, str) and value.startswith("$"):
        return [value[1:]]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def _check_refs(options: Any, earlier: list[str], where: str) -> None:
    for f in dataclasses.fields(options):
        for ref in _refs(getattr(options, f.name)):
            if ref not in earlier:
                raise ConfigError(f"{where}: {f.name} refers to ${ref}, which is not an earlier step")


def _resolve(options: Any, outputs: dict[str, Path], base: Path) -> Any:
    """The options with ``$ID`` replaced by step outputs and relative paths made absolute."""

    def one(name: str, value: Any) -> Any:
        if isinstance(value, list):
            return [one(name, v) for v in value]
        if isinstance(value, str) and value.startswith("$"):
            return str(outputs[value[1:]])
        if name in PATH_KEYS and isinstance(value, str) and "://" not in value and not Path(value).is_absolute():
            candidate = base / value
            return str(candidate) if candidate.exists() or name in ("out", "out_dir") else value
        return value

    return dataclasses.replace(options, **{f.name: one(f.name, getattr(options, f.name)) for f in dataclasses.fields(options)})


# -- what each kind does ----------------------------------------------------------------------------
def _harvest(o: HarvestStep, out: Path) -> Path:
    from geocolor.aoi import aoi_from_bbox, aoi_from_file
    from geocolor.harvest import HarvestConfig, harvest

    if bool(o.bbox) == bool(o.aoi):
        raise ConfigError("harvest needs exactly one of bbox or aoi")
    aoi = aoi_from_file(o.aoi) if o.aoi else aoi_from_bbox(str(o.bbox), o.bbox_crs)
    result = harvest(HarvestConfig(out=out, aoi=aoi, zoom=o.zoom, url=o.url, layer=o.layer, xyz=o.xyz, tms=o.tms,
                                   workers=o.workers, rate=o.rate))
    if result.failed:
        raise GeocolorError(f"{result.summary()}; run the pipeline again to fetch the failed tiles")
    if result.vrt is None:
        raise GeocolorError("the harvest returned no tiles")
    return Path(result.vrt)


def _dataset(o: DatasetStep, out: Path) -> Path:
    from geocolor.dataset import build_dataset
    from geocolor.dataset.config import DatasetConfig

    # a dataset in the pipeline's own folder is rebuilt when its sources changed; one given by ``out`` is the user's
    owned = o.out is None
    cfg = build(DatasetConfig, {**o.options, "src": o.src, "out": str(out), "size": o.size, "degrade": o.degrade,
                                "overwrite": owned or bool(o.options.get("overwrite"))}, root="dataset step")
    build_dataset(cfg, show_progress=True)
    return out


def _train(o: TrainStep, out: Path, step_id: str) -> Path:
    from geocolor.train.config import config_from_dict, read_config_tree
    from geocolor.train.recipes import dataset_recipe
    from geocolor.train.trainer import check_same_recipe, train

    base = read_config_tree(o.config) if o.config else None
    if o.data:
        tree = dataset_recipe(o.data, base)
    elif base is not None:
        tree = base
    else:
        raise ConfigError("train needs data (a dataset folder) or config")
    tree.update({"name": o.name or step_id, "out_dir": o.out_dir or str(out.parent)})
    if o.steps:
        tree["steps"] = o.steps
    cfg = config_from_dict(tree, [f"{k}={json.dumps(v)}" for k, v in o.set.items()])
    resume = (cfg.run_dir / "checkpoint.pt").exists()
    if resume:
        try:
            check_same_recipe(cfg)  # same recipe (more steps, say): the run continues
        except ConfigError as e:
            kept = cfg.run_dir.with_name(f"{cfg.run_dir.name}.before-{time.strftime('%Y%m%d-%H%M%S')}")
            cfg.run_dir.rename(kept)
            log.warning("step %s: %s; that run is kept as %s and training starts afresh", step_id, str(e).split(";")[0], kept)
            resume = False
    run = train(cfg, resume=resume)
    return run / "best.pt"


def _evaluate(o: EvaluateStep, out: Path) -> Path:
    from geocolor.cli import cli

    args = ["evaluate", "--data", o.data, "--split", o.split, "--out", str(out)]
    for m in o.model:
        args += ["--model", m]
    cli.main(args, standalone_mode=False)
    return out


def _mosaic(o: MosaicStep, out: Path) -> Path:
    from geocolor.mosaic import colorize

    colorize(o.input, out, model=o.model, style=o.style, dodge=o.dodge, fill_nodata=o.fill_nodata, overwrite=True,
             bands=tuple(o.bands) if o.bands else None)
    return out


def _adapt(o: AdaptStep, out: Path) -> Path:
    from geocolor.adapt import AdaptOptions, adapt

    adapt(list[PathLike](o.scans), out, AdaptOptions(from_rasters=list[PathLike](o.from_rasters), wmts=o.wmts, layer=o.layer, xyz=o.xyz, zoom=o.zoom,
                                     bbox=o.bbox, bbox_crs=o.bbox_crs, buffer_m=o.buffer_m, minutes=o.minutes, model=o.model,
                                     restraint=o.restraint, false_colour_max=o.false_colour_max, tone_match=o.tone_match))
    return out


RUNNERS: dict[str, Callable[..., Path]] = {"harvest": _harvest, "dataset": _dataset, "evaluate": _evaluate, "mosaic": _mosaic,
                                           "adapt": _adapt}


def _default_out(step: Step, workdir: Path) -> Path:
    return workdir / step.id / "output.tif" if step.kind == "mosaic" else workdir / step.id


def _fingerprint(options: Any, upstream: list[str]) -> str:
    """The step's resolved options and when the steps it uses made their outputs."""
    text = json.dumps([dataclasses.asdict(options), upstream], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class StepReport:
    id: str
    kind: str
    output: Path
    skipped: bool
    seconds: float


def run_pipeline(path: str | Path, progress: Callable[[str], None] | None = None) -> list[StepReport]:
    """Run a pipeline file (see the module docstring); returns what each step did."""
    pipe = load_pipeline(path)
    marks = pipe.workdir / ".steps"
    marks.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, Path] = {}
    finished: dict[str, str] = {}  # step id -> when its output was made (a rerun of a step reruns those using it)
    reports = []
    for step in pipe.steps:
        opts = _resolve(step.options, outputs, pipe.base)
        upstream = sorted({r for f in dataclasses.fields(step.options) for r in _refs(getattr(step.options, f.name))})
        out_value = getattr(opts, "out", None) or getattr(opts, "out_dir", None)
        out = Path(out_value) if out_value and step.kind != "train" else _default_out(step, pipe.workdir)
        mark = marks / f"{step.id}.json"
        fingerprint = _fingerprint(opts, [finished[u] for u in upstream])
        if mark.exists():
            done = json.loads(mark.read_text())
            if done.get("fingerprint") == fingerprint and Path(done["output"]).exists():
                outputs[step.id] = Path(done["output"])
                finished[step.id] = str(done.get("finished", ""))
                reports.append(StepReport(step.id, step.kind, outputs[step.id], True, 0.0))
                if progress:
                    progress(f"{step.id} ({step.kind}): done before, skipped")
                continue
        if progress:
            progress(f"{step.id} ({step.kind}): running")
        started = time.monotonic()
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            if step.kind == "train":
                result = _train(opts, out, step.id)
            else:
                result = RUNNERS[step.kind](opts, out)
        except GeocolorError as e:
            message = f"step {step.id} ({step.kind}): {e}"
            try:
                wrapped = type(e)(message)
            except TypeError:
                wrapped = GeocolorError(message)
            raise wrapped from None
        outputs[step.id] = result
        seconds = time.monotonic() - started
        finished[step.id] = f"{time.time():.6f}"
        write_json_atomic(mark, {"kind": step.kind, "fingerprint": fingerprint, "output": str(result), "seconds": round(seconds, 1),
                                 "finished": finished[step.id]})
        reports.append(StepReport(step.id, step.kind, result, False, seconds))
    return reports
