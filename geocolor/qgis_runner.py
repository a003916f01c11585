"""A line protocol over the geocolor API, for callers that run geocolor in another process (the QGIS plugin).

QGIS's own Python usually has no torch, so the plugin starts ``python -m geocolor.qgis_runner ...``
with the Python of a geocolor environment and reads its stdout, one message per line:

``PROGRESS 0.420``  fraction done (0..1), at most about every 1% ;
``DONE <path>``     the result (the output GeoTIFF, or the harvest's VRT or folder) ;
``ERROR <message>`` a one-line error a user can act on (then exit code 1).

``CANCELLED``       the run stopped on SIGTERM (exit code 130).

``check`` prints ``OK <geocolor version>`` when the engine (geocolor and torch) imports. Cancel is the
caller sending SIGTERM: the runner turns it into the engine's ``is_cancelled``, so the engine stops at
its next check and removes its temporary files (the output is written atomically, never half).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from geocolor.errors import GeocolorError

PROTOCOL_VERSION = 1


def line_progress(out: TextIO, step: float = 0.01) -> Callable[[float], None]:
    """A progress callback printing ``PROGRESS f`` lines, skipping changes smaller than ``step``."""
    last = [-1.0]

    def report(fraction: float) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        if fraction - last[0] >= step or (fraction >= 1.0 > last[0]):
            last[0] = fraction
            print(f"PROGRESS {fraction:.3f}", file=out, flush=True)

    return report


class _TermFlag:
    """Set by SIGTERM; the engine polls it as ``is_cancelled``."""

    def __init__(self) -> None:
        self.set = False

    def __call__(self) -> bool:
        return self.set

    def install(self) -> None:
        def handler(signum: int, frame: object) -> None:
            self.set = True

        signal.signal(signal.SIGTERM, handler)


TERMINATED = _TermFlag()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m geocolor.qgis_runner", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="print OK and the geocolor version when the engine imports")
    col = sub.add_parser("colorize", help="colorize SRC into DST (see geocolor mosaic)")
    col.add_argument("src")
    col.add_argument("dst")
    col.add_argument("--model", default=None)
    col.add_argument("--device", default="auto")
    col.add_argument("--overwrite", action="store_true")
    col.add_argument("--fill-nodata", action="store_true", help="inpaint SRC's nodata holes first (see geocolor inpaint)")
    col.add_argument("--inpaint-model", default=None, help="inpainting model for --fill-nodata (default: the shipped one)")
    col.add_argument("--style", default=None, help="a colour reference raster or a named style of the model")
    col.add_argument("--dodge", type=float, default=0.0, help="even out slow exposure changes over this radius in pixels (0: off)")
    inp = sub.add_parser("inpaint", help="fill SRC's nodata holes (or MASK's non-zero pixels) into DST (see geocolor inpaint)")
    inp.add_argument("src")
    inp.add_argument("dst")
    inp.add_argument("--mask", default=None)
    inp.add_argument("--model", default=None)
    inp.add_argument("--device", default="auto")
    inp.add_argument("--method", choices=("auto", "network", "biharmonic"), default="auto")
    inp.add_argument("--overwrite", action="store_true")
    har = sub.add_parser("harvest", help="harvest WMTS tiles inside a bbox (see geocolor harvest)")
    har.add_argument("--url", required=True)
    har.add_argument("--layer", required=True)
    har.add_argument("--bbox", required=True, help="MINX,MINY,MAXX,MAXY")
    har.add_argument("--bbox-crs", default="EPSG:4326")
    har.add_argument("--zoom", required=True)
    har.add_argument("--out", required=True)
    har.add_argument("--tms", default=None)
    har.add_argument("--overwrite", action="store_true")
    return parser


def _check(out: TextIO) -> str:
    import torch  # noqa: F401  (the engine needs it; fail here, not half-way)

    from geocolor import __version__

    return f"OK {__version__}"


def _colorize(args: argparse.Namespace, out: TextIO) -> str:
    from geocolor.mosaic import colorize

    result = colorize(args.src, args.dst, model=args.model, device=args.device, overwrite=args.overwrite,
                      fill_nodata=args.fill_nodata, inpaint_model=args.inpaint_model, style=args.style or None,
                      dodge=args.dodge, show_progress=False, progress=line_progress(out), is_cancelled=TERMINATED)
    return f"DONE {result.path}"


def _inpaint(args: argparse.Namespace, out: TextIO) -> str:
    from geocolor.inpaint import inpaint

    result = inpaint(args.src, args.dst, mask=args.mask, model=args.model, device=args.device, overwrite=args.overwrite,
                     method=args.method, show_progress=False, progress=line_progress(out), is_cancelled=TERMINATED)
    return f"DONE {result.path}"


def _harvest(args: argparse.Namespace, out: TextIO) -> str:
    from geocolor.aoi import aoi_from_bbox
    from geocolor.harvest import HarvestConfig, harvest

    config = HarvestConfig(out=args.out, aoi=aoi_from_bbox(args.bbox, args.bbox_crs), zoom=args.zoom, url=args.url,
                           layer=args.layer, tms=args.tms, overwrite=args.overwrite)
    result = harvest(config, progress=line_progress(out), is_cancelled=TERMINATED)
    if result.cancelled:
        raise _Stopped
    if result.failed:
        raise GeocolorError(f"{result.summary()}; run it again to fetch the failed tiles")
    return f"DONE {result.vrt or result.out}"


class _Stopped(Exception):
    """A harvest ended early because of SIGTERM."""


COMMANDS: dict[str, Callable[..., str]] = {"check": lambda args, out: _check(out), "colorize": _colorize, "inpaint": _inpaint,
                                           "harvest": _harvest}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run one command; return the exit code (0 done, 1 a GeocolorError, reported as an ERROR line)."""
    from geocolor.mosaic.engine import Cancelled

    out = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        print(COMMANDS[args.command](args, out), file=out, flush=True)
    except (Cancelled, _Stopped):
        print("CANCELLED", file=out, flush=True)
        return 130
    except GeocolorError as e:
        print("ERROR " + " ".join(str(e).split()), file=out, flush=True)
        return 1
    except ImportError as e:
        print(f"ERROR this Python cannot run geocolor ({e}); install it with: pip install -e . (see README)", file=out, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    TERMINATED.install()
    sys.exit(main())
