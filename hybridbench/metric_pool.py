"""Signal metrics beside the codec and the ASR: a pool of worker processes scores decoded audio while the main
process encodes, decodes and transcribes the next items.

PESQ, STOI, speaker similarity and DNSMOS run on the CPU, one item at a time; inline, a GPU run would wait on
them for most of its time. With `workers > 0` each decoded row's scoring is submitted here and the row is
stored when its scores come back. The scores are the same as inline scoring (the same metric objects on the
same arrays; a test checks it), and a worker that dies inside native code (the pesq library's segfault on long
signals, upstream ludlows/PESQ#18) becomes a counted failure of that row's metrics, with the reason, while the
pool restarts and the run goes on.

Workers are spawned, not forked: a forked child inherits the parent's torch/OpenMP thread state, which can
deadlock, and CUDA cannot be used after fork. Each worker builds its metrics once (by registered name, so only
metrics declared through entry points are available there) and scores on one thread: on a shared CPU, one
thread per worker is the fastest layout. With `workers == 0` (the default on a CPU device, where workers would
compete with the codec whose speed the run also times) scoring stays inline and nothing here is started.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import numpy as np

from hybridbench.metrics import METRICS, Metric, MetricFailure
from hybridbench.timing import StageClock

Scores = tuple[dict[str, float], dict[str, str]]  # (metric -> score, metric -> failure reason)

_WORKER_METRICS: list[Metric] = []


def score_all(
    metrics: list[Metric], reference16: np.ndarray, degraded16: np.ndarray, clock: StageClock | None = None
) -> Scores:
    """Every metric on one decoded item; a metric that cannot score it records why instead of a number.
    With a `clock`, each metric's seconds are added to its stage `metric <name>`."""
    scores, failures = {}, {}
    for metric in metrics:
        try:
            with clock.stage(f"metric {metric.name}") if clock else contextlib.nullcontext():
                scores[metric.name] = metric(reference16, degraded16)
        except MetricFailure as exc:
            failures[metric.name] = str(exc)
        except Exception as exc:
            failures[metric.name] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return scores, failures


def default_workers(device_type: str) -> int:
    """Worker processes for the signal metrics when --workers is not given: on a GPU machine every core but the
    one driving the GPU (at most 8); on a CPU run none, so the codec's timing is not shared with them."""
    if device_type == "cpu":
        return 0
    return max(1, min(8, (os.cpu_count() or 2) - 1))


def _init_worker(names: list[str]) -> None:
    import torch

    torch.set_num_threads(1)
    _WORKER_METRICS[:] = [METRICS.get(name)() for name in names]


def _score_in_worker(reference16: np.ndarray, degraded16: np.ndarray) -> Scores:
    return score_all(_WORKER_METRICS, reference16, degraded16)


@dataclass
class ScoringJob:
    """One item's scoring in the pool; the arrays are kept until it is done, to rerun it after a crash."""

    reference16: np.ndarray
    degraded16: np.ndarray
    future: Future[Scores]
    generation: int  # the pool it was submitted to


class MetricPool:
    """Scores decoded items in `workers` processes: `submit` starts a job, `result` waits for its scores.

    When a worker dies, every job pending in its pool fails with BrokenProcessPool, not only the one that
    killed it. So a job whose pool broke is rerun alone in a one-worker pool of its own: only a job that breaks
    that pool is the culprit, and its metrics become failures with the reason; the others get their scores."""

    def __init__(self, metric_names: list[str], workers: int, scorer: Callable[..., Scores] | None = None):
        """`scorer(reference16, degraded16)`: the function run in the workers (module-level, so it pickles);
        by default every metric in `metric_names`."""
        if workers < 1:
            raise ValueError("a MetricPool needs at least one worker (score inline with score_all instead)")
        self.names = list(metric_names)
        self.workers = workers
        self.generation = 0
        self.crashes = 0  # items whose scoring killed a worker
        self.scorer = scorer or _score_in_worker
        self._executor = self._start(workers)

    def _start(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            # A custom scorer brings its own scoring: the registered metrics are built only for the default one.
            initargs=(self.names if self.scorer is _score_in_worker else [],),
        )

    def submit(self, reference16: np.ndarray, degraded16: np.ndarray) -> ScoringJob:
        try:
            future = self._executor.submit(self.scorer, reference16, degraded16)
        except BrokenProcessPool:  # a worker died on an earlier job: this one goes to a fresh pool
            self._restart()
            future = self._executor.submit(self.scorer, reference16, degraded16)
        return ScoringJob(reference16, degraded16, future, self.generation)

    def result(self, job: ScoringJob) -> Scores:
        """The job's scores, or, when it kills a worker on its own, every metric failed with the reason."""
        try:
            return job.future.result()
        except BrokenProcessPool:
            if job.generation == self.generation:
                self._restart()
        solo = self._start(1)
        try:
            return solo.submit(self.scorer, job.reference16, job.degraded16).result()
        except BrokenProcessPool:
            self.crashes += 1
            reason = "the metric worker process died on this item (killed, or crashed in native code)"
            return {}, dict.fromkeys(self.names, reason)
        finally:
            solo.shutdown(wait=True, cancel_futures=True)

    def _restart(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.generation += 1
        self._executor = self._start(self.workers)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> MetricPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
