"""A progress bar over the cluster's task stream: futures counted as the scheduler reports them done."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any


def track(futures: Sequence[Any], desc: str, *, unit: str = "task", show: bool = True,
          weight: Callable[[Any], int] | None = None, total: int | None = None, initial: int = 0) -> Iterator[Any]:
    """Yield ``futures`` in the order they finish (done or failed), advancing a tqdm bar by ``weight(future)``
    (default 1) out of ``total`` (default: their number) after the caller has handled each."""
    from distributed import as_completed
    from tqdm import tqdm

    with tqdm(total=total if total is not None else len(futures), initial=initial, desc=desc, unit=unit, file=sys.stderr,
              disable=None if show else True, dynamic_ncols=True) as bar:
        for future in as_completed(list(futures)):
            yield future
            bar.update(weight(future) if weight else 1)
