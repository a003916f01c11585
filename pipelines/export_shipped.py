"""Re-export the shipped models to ONNX: ``geocolor/weights/<name>.pt`` -> ``<name>.onnx``.

Usage (from the repository root, after retraining a shipped model):

    python pipelines/export_shipped.py

Exports ``default`` (colorization) and ``inpaint``; each export is checked against the torch model
on real imagery before it is written (``geocolor.export``). ``stylecolor`` (style-conditioned) has
no ONNX graph yet and runs on the torch engine only. ``tests/models/test_shipped_onnx.py`` fails
while any shipped ``.onnx`` is older than its ``.pt`` (different weights or metadata checksum).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from geocolor.export import export_onnx  # noqa: E402

SHIPPED = ("default", "inpaint")
WEIGHTS = REPO / "geocolor" / "weights"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in SHIPPED:
        result = export_onnx(WEIGHTS / f"{name}.pt", WEIGHTS / f"{name}.onnx", overwrite=True)
        print(f"{result.path.relative_to(REPO)}: {result.graph}, {result.size_bytes / 1e6:.1f} MB, "
              f"max difference from torch fp32 {result.max_difference:.3g}")


if __name__ == "__main__":
    main()
