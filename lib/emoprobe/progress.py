"""Progress bars that read well in a terminal and in a log file, and progress of work in other processes.

In a terminal tqdm redraws one line; when stderr is not a terminal (CI, papermill, ``nohup``) a redraw is a new
line, so the bar updates at most every ``LOG_INTERVAL`` seconds instead of thousands of times.

A process that works for another one (a training worker of emoprobe.probe.schedule) sets a *reporter*
(``set_reporter``): every bar then sends ``(description, done, total)`` to it instead of drawing, and the
parent prints one line per job.
"""

from __future__ import annotations

import sys
import time

LOG_INTERVAL = 30.0
REPORT_INTERVAL = 2.0  # seconds between two reports of one bar

_REPORTER = None


def set_reporter(fn) -> None:
    """Send every later bar's progress to ``fn(desc, done, total)`` (None: draw bars again)."""
    global _REPORTER
    _REPORTER = fn


class _Reported:
    """The part of tqdm's interface the package uses, reporting to the process's reporter."""

    def __init__(self, total: int, desc: str, fn):
        self.total, self.desc, self.fn, self.n, self.last = int(total), desc, fn, 0, 0.0

    def __enter__(self):
        self.fn(self.desc, 0, self.total)
        return self

    def __exit__(self, *exc):
        self.fn(self.desc, self.n, self.total)

    def update(self, k: int = 1):
        self.n += k
        now = time.monotonic()
        if now - self.last >= REPORT_INTERVAL:
            self.last = now
            self.fn(self.desc, self.n, self.total)

    def set_postfix(self, **kwargs):
        pass


def bar(total: int, desc: str, enable: bool = True, unit: str = "it"):
    if enable and _REPORTER is not None:
        return _Reported(total, desc, _REPORTER)
    from tqdm.auto import tqdm

    tty = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit=unit, disable=not enable, dynamic_ncols=True,
                mininterval=0.1 if tty else LOG_INTERVAL, leave=tty)
