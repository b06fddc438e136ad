from __future__ import annotations


def test_the_speed_claim_times_the_two_shipped_minis_and_cites_a_command_that_parses():
    import shlex

    import torch

    from hybridbench.cli import build_parser
    from minireplication.speed_claim import CLAIM_CODECS, ClaimTiming, speed_claim

    timing = ClaimTiming(seconds=1.0, repeats=1, warmup=0)
    rtf, note = speed_claim(torch.device("cpu"), {}, timing)
    assert set(rtf) == set(CLAIM_CODECS)
    for stages in rtf.values():
        assert set(stages) >= {"encode", "encode+decode"} and min(stages.values()) > 0
    # DualCodec's mini runs a teacher encoder (Whisper base's, over a 30 s window) that HybridCodec drops:
    # about ten times HybridCodec's encode, so no scheduler noise on one call turns it round.
    assert rtf["dualcodec-mini"]["encode"] > rtf["hybridcodec-mini"]["encode"]
    command = note.split("`")[1]
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert (args.seconds, args.repeats, args.warmup) == (1.0, 1, 0)
    assert args.codecs == ",".join(CLAIM_CODECS)
    # Nothing to time when either codec's weights are missing.
    assert speed_claim(torch.device("cpu"), {"dualcodec-mini": "no weights"}, timing) == (None, None)
