"""Progress bars that read well in a terminal and in a log file.

In a terminal tqdm redraws one line; when stderr is not a terminal (CI, papermill, ``nohup``) a redraw is a new
line, so the bar updates at most every ``LOG_INTERVAL`` seconds instead of thousands of times.
"""

from __future__ import annotations

import sys

LOG_INTERVAL = 30.0


def bar(total: int, desc: str, enable: bool = True, unit: str = "it"):
    from tqdm.auto import tqdm

    tty = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit=unit, disable=not enable, dynamic_ncols=True,
                mininterval=0.1 if tty else LOG_INTERVAL, leave=tty)
