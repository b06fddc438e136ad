"""The paper's speed claim on the shipped minis: HybridCodec and DualCodec timed back to back on the same input."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hybridbench.speed import measure

# The two codecs the paper's speed claim compares, as the offline replication ships them.
CLAIM_CODECS = ("hybridcodec-mini", "dualcodec-mini")


@dataclass(frozen=True)
class ClaimTiming:
    """How the speed claim is timed: batch 1, `seconds` of speech, median of `repeats` after `warmup` calls."""

    seconds: float
    repeats: int
    warmup: int


def speed_claim(
    device: torch.device, unavailable: dict[str, str], timing: ClaimTiming
) -> tuple[dict[str, dict[str, float]] | None, str | None]:
    """RTFs ({codec: {"encode", "encode+decode"}}) of the HybridCodec and DualCodec minis measured back to back
    on the same input, and a sentence saying so, for the speed claim: a run's per-item timings of the two are
    taken minutes apart, under whatever else the machine runs. `unavailable`: the codecs the run skipped for
    want of weights (then there is nothing to time: None, None)."""
    from hybridbench.codecs import CODECS

    if any(n in unavailable for n in CLAIM_CODECS):
        return None, None
    rtf = {}
    for name in CLAIM_CODECS:
        codec = CODECS.get(name).load(weights=None, device=device)
        results = measure(
            codec, batch_size=1, seconds=timing.seconds, repeats=timing.repeats, warmup=timing.warmup
        )
        rtf[name] = {r.stage.split("@")[0]: r.rtf for r in results}
    command = (
        f"hybridbench speed --codecs {','.join(CLAIM_CODECS)} --seconds {timing.seconds:g} "
        f"--repeats {timing.repeats} --warmup {timing.warmup}"
    )
    if device.type != "cpu":  # the speed command's default device is the CPU
        command += f" --device {device.type}"
    calls = "call" if timing.warmup == 1 else "calls"
    note = (
        f"The speed claim is read from a separate measurement of the two codecs back to back (`{command}`: "
        f"batch 1, median of {timing.repeats} after {timing.warmup} warm-up {calls}), "
        "not from the per-item RTF columns, which time each codec while it is scored."
    )
    return rtf, note
