"""Training logs: every scalar to TensorBoard event files and to a CSV, audio samples as WAV and in TensorBoard."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import torch

from hybridbench.audio import write_wav

# Fixed CSV columns, so rows from a resumed run line up with the first run's header.
COLUMNS = (
    "step", "loss/generator", "loss/mel", "loss/distillation", "loss/adversarial", "loss/feature_matching",
    "loss/commitment", "loss/codebook", "loss/discriminator", "grad_norm/generator", "grad_norm/discriminator",
    "lr", "depth/mean", "time/step_s",
)  # fmt: skip
# training_time: a logged update this many times slower than the median of its neighbours was stalled.
STALLED, NEIGHBOURS = 10.0, 10
VALID_COLUMNS = ("step", "valid/mel", "valid/mel_depth1", "valid/distillation", "valid/distillation_r2")


class RunLogger:
    """Writes `metrics.csv` and `tensorboard/` under the run folder (rank 0 only)."""

    def __init__(self, *, run: Path, start_step: int):
        from torch.utils.tensorboard import SummaryWriter

        self.run = run
        self.csv_path = run / "metrics.csv"
        _truncate_after(
            self.csv_path, start_step, COLUMNS
        )  # rows a crashed run wrote after its last checkpoint
        new = not self.csv_path.is_file()
        self._csv = open(self.csv_path, "a", newline="", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self._writer = csv.DictWriter(self._csv, fieldnames=COLUMNS, extrasaction="ignore")
        if new:
            self._writer.writeheader()
        self.valid_path = run / "valid.csv"
        _truncate_after(self.valid_path, start_step, VALID_COLUMNS)
        new = not self.valid_path.is_file()
        self._valid_csv = open(self.valid_path, "a", newline="", encoding="utf-8")  # noqa: SIM115
        self._valid_writer = csv.DictWriter(self._valid_csv, fieldnames=VALID_COLUMNS, extrasaction="ignore")
        if new:
            self._valid_writer.writeheader()
        # purge_step hides events a crashed run logged after the checkpoint we resume from.
        self.tb = SummaryWriter(str(run / "tensorboard"), purge_step=start_step + 1 if start_step else None)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """Training scalars -> TensorBoard + metrics.csv; `valid/...` scalars -> TensorBoard + valid.csv."""
        for key, value in values.items():
            self.tb.add_scalar(key, value, step)
        valid = any(k.startswith("valid/") for k in values)
        writer, file = (self._valid_writer, self._valid_csv) if valid else (self._writer, self._csv)
        writer.writerow({"step": step, **{k: f"{v:.6g}" for k, v in values.items()}})
        file.flush()

    def audio(self, step: int, name: str, wav: torch.Tensor, sample_rate: int) -> None:
        """wav [T] -> samples/step_XXXXXXX_<name>.wav and a TensorBoard audio entry."""
        wav = wav.detach().float().cpu().reshape(-1).clamp(-1, 1)
        write_wav(self.run / "samples" / f"step_{step:07d}_{name}.wav", wav, sample_rate)
        self.tb.add_audio(name, wav[None], step, sample_rate=sample_rate)

    def close(self) -> None:
        self.tb.close()
        self._csv.close()
        self._valid_csv.close()


def _truncate_after(path: Path, step: int, columns: tuple[str, ...]) -> None:
    """Drop rows after `step` (a crashed run logged past its last checkpoint), and bring a log written by a
    version with fewer columns under today's header (its rows keep their values by column name; rows that the
    current version appended under the old header, one value per current column, are read by position)."""
    if not path.is_file():
        return
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    header, body = rows[0], [r for r in rows[1:] if r and int(r[0]) <= step]
    if header == list(columns) and len(body) == len(rows) - 1:
        return
    named = [dict(zip(header if len(r) == len(header) else columns, r, strict=False)) for r in body]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(named)


def training_time(path: Path, log_every: int) -> tuple[int, int, float] | None:
    """(first step, last step, seconds) of the updates a metrics.csv covers, or None without timed rows.

    Each logged row holds the time of the update it was logged at; it stands for the `log_every` updates of its
    window, so the sum is an estimate of update time (crop loading runs ahead in a thread; evaluation and
    checkpoint writing are not in it). A logged update that took over `STALLED` times the median of its
    neighbours (`NEIGHBOURS` rows either side) was stalled, not slow: the process was paused (SIGSTOP) or the
    machine suspended while it ran, and multiplied by `log_every` a 12-minute pause would add two hours. It
    counts as that median instead.
    """
    if not path.is_file():
        return None
    with open(path, newline="", encoding="utf-8") as f:
        timed = [(int(r["step"]), float(r["time/step_s"])) for r in csv.DictReader(f) if r.get("time/step_s")]
    if not timed:
        return None
    times = [t for _, t in timed]
    total = 0.0
    for i, t in enumerate(times):
        usual = statistics.median(times[max(0, i - NEIGHBOURS) : i + NEIGHBOURS + 1])
        total += usual if t > STALLED * usual else t
    return timed[0][0] - log_every + 1, timed[-1][0], log_every * total
