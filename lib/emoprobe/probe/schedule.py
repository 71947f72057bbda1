"""Train the zoo for several seeds on every core: independent trainings side by side, in separate processes.

The zoo is a small dependency graph per seed (``vlm-base`` -> the three priors -> the four fine-tunes from
``vlm-prior1``; ``videomae-web`` -> ``videomae``), and seeds are independent copies of it. ``train`` runs a
job as soon as the model it starts from is trained, longest remaining chain first, in ``workers`` processes
with one torch thread each (the thread count is part of every training config, so a model is bit-identical
whatever the schedule; ``benchmarks/probe_training.py`` measures the pair against one process). Pools are
rendered once and shared through the disk (emoprobe.probe.trainers._stored). Each job reports its progress to
this process, which prints one line per model and seed: elapsed time and an estimate of what is left.
"""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_mod
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from emoprobe.probe import zoo

__all__ = ["Job", "jobs", "train"]

PRINT_INTERVAL = 30.0  # seconds between two progress lines of one job


@dataclass(frozen=True)
class Job:
    name: str
    seed: int
    after: tuple = ()  # (name, seed) of the model it starts from

    @property
    def key(self) -> tuple:
        return self.name, self.seed


def jobs(names, seeds) -> list[Job]:
    """Every (model, seed) of ``names`` and what it starts from (added when missing from ``names``)."""
    todo, out = [(n, s) for s in seeds for n in names], {}
    while todo:
        name, seed = todo.pop(0)
        if (name, seed) in out:
            continue
        init = zoo.MODELS[name].get("init")
        out[(name, seed)] = Job(name, int(seed), ((init, int(seed)),) if init else ())
        if init:
            todo.append((init, seed))
    return list(out.values())


def _chain_length(job: Job, by_key: dict) -> int:
    """How many jobs wait for this one, transitively (run those first: they hold up the most)."""
    return sum(1 + _chain_length(j, by_key) for j in by_key.values() if job.key in j.after)


# --- worker side ------------------------------------------------------------------------------------------------

_CURRENT = None  # the (name, seed) this worker is training, for its progress reports


def _init_worker(q, threads: int):
    import os

    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    import torch
    import transformers

    from emoprobe import progress

    transformers.utils.logging.disable_progress_bar()  # "Loading weights" bars: noise in the parent's log
    torch.set_num_threads(int(threads))
    progress.set_reporter(lambda desc, done, total: q.put((_CURRENT, desc, done, total, time.time())))


def _run(name: str, profile: str, seed: int, cache_dir) -> tuple:
    global _CURRENT
    _CURRENT = (name, seed)
    t0 = time.perf_counter()
    trained = []
    path = zoo.get(name, profile, cache_dir=cache_dir, seed=seed, progress=True,
                   log=lambda m: trained.append(m) if "training" in m else None)
    return str(path), time.perf_counter() - t0, bool(trained)


# --- parent side ------------------------------------------------------------------------------------------------

def _fmt(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class _Lines:
    """One progress line per job, at most every PRINT_INTERVAL seconds (plus start and end)."""

    def __init__(self, log, start: float):
        self.log, self.start, self.state = log, start, {}

    def update(self, key, desc, done, total, stamp):
        st = self.state.setdefault(key, {"begun": stamp, "printed": 0.0})
        if st.get("desc") != desc:
            st.update(desc=desc, desc_begun=stamp, desc_done=done)
        st.update(done=done, total=total, stamp=stamp)
        if stamp - st["printed"] >= PRINT_INTERVAL and 0 < done < total and stamp - st["desc_begun"] >= 10:
            st["printed"] = stamp
            rate = (done - st["desc_done"]) / max(stamp - st["desc_begun"], 1e-9)
            left = (total - done) / rate if rate > 0 else float("nan")
            self.log(f"[{_fmt(stamp - self.start)}] {key[0]} seed {key[1]}: {desc} {done}/{total} "
                     f"({100 * done / total:.0f} %), {_fmt(stamp - st['begun'])} in, ~{_fmt(left)} left in this step")


def train(profile: str = "quick", seeds=None, names=None, workers: int = 2, threads: int = 1, cache_dir=None,
          log=print) -> dict:
    """Train (or find cached) every model of ``names`` (default: all) for every seed (default: the profile's
    ``seeds``); return ``{(name, seed): {"path", "seconds", "trained"}}``. ``workers=1`` is the serial schedule
    (still in a separate process, so the parent's own threads do not matter)."""
    names = list(names or zoo.list_models())
    seeds = list(zoo.seeds(profile) if seeds is None else seeds)
    if workers < 1:
        raise ValueError(f"workers: expected at least 1, got {workers}")
    cache_dir = str(Path(cache_dir) if cache_dir is not None else zoo.default_cache_dir())
    todo = {j.key: j for j in jobs(names, seeds)}
    rank = {k: _chain_length(j, todo) for k, j in todo.items()}
    done: dict = {}
    for k in list(todo):  # a warm cache starts no process at all
        entry = Path(cache_dir) / k[0] / zoo.cache_key(k[0], profile, k[1])[:16]
        if (entry / "meta.json").is_file():
            done[k] = {"path": str(entry / "model"), "seconds": 0.0, "trained": False}
            todo.pop(k)
    if not todo:
        return done
    start = time.time()
    lines = _Lines(log, start)
    ctx = mp.get_context("spawn")  # never fork a process that has started torch's threads
    q = ctx.Queue()
    log(f"training {len(todo)} of {len(todo) + len(done)} models (seeds {seeds}) in {workers} process(es) x "
        f"{threads} thread(s)")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(q, threads)) as pool:
        running = {}
        while todo or running:
            ready = sorted((k for k, j in todo.items() if all(a in done for a in j.after)),
                           key=lambda k: (-rank[k], k[1], k[0]))
            for k in ready[:max(0, workers - len(running))]:
                todo.pop(k)
                running[pool.submit(_run, k[0], profile, k[1], cache_dir)] = k
            finished, _ = wait(list(running), timeout=1.0, return_when=FIRST_COMPLETED)
            while True:
                try:
                    key, desc, n, total, stamp = q.get_nowait()
                except queue_mod.Empty:
                    break
                lines.update(key, desc, n, total, stamp)
            for fut in finished:
                k = running.pop(fut)
                try:
                    path, seconds, trained = fut.result()
                except Exception as e:
                    raise RuntimeError(f"training {k[0]} (seed {k[1]}, profile {profile}) failed: {e}") from e
                done[k] = {"path": path, "seconds": seconds, "trained": trained}
                log(f"[{_fmt(time.time() - start)}] {k[0]} seed {k[1]}: "
                    + (f"trained in {_fmt(seconds)}" if trained else "cached"))
    log(f"all {len(done)} models ready in {_fmt(time.time() - start)}")
    return done
