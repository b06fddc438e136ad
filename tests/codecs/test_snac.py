"""SNAC adapters == the snac package's encode/decode, on random models saved in the hub folder layout."""

from __future__ import annotations

import json

import pytest
import torch
from codec_test_utils import check_prefix_decoding, speechlike

pytest.importorskip("snac")

from hybridbench.codecs.snac import Snac24kHz, Snac32kHz, Snac44kHz, pack, unpack  # noqa: E402
from hybridbench.errors import HybridbenchError  # noqa: E402


def test_released_configs_reproduce_the_published_table():
    from snac import SNAC

    # README: snac_24khz 0.98 kbps 19.8 M, snac_32khz 1.9 kbps 54.5 M, snac_44khz 2.6 kbps 54.5 M.
    for cls, kbps, millions in ((Snac24kHz, 0.98, 19.8), (Snac32kHz, 1.9, 54.5), (Snac44kHz, 2.6, 54.5)):
        info = cls.describe()
        full = info.bitrate(info.num_codebooks)
        assert round(full / 1000, 2 if kbps < 1 else 1) == kbps
        with torch.device("meta"):
            count = sum(p.numel() for p in SNAC(**cls.hub_config).parameters())
        assert count == info.parameters and round(count / 1e6, 1) == millions
    assert Snac24kHz.describe().bitrate(7) == 24000 / 512 / 4 * 7 * 12  # 984.375 b/s, exact
    assert Snac24kHz.valid_depths() == (1, 3, 7) and Snac32kHz.valid_depths() == (1, 3, 7, 15)


def test_pack_unpack_round_trip():
    g = torch.Generator().manual_seed(0)
    scales = [torch.randint(0, 4096, (2, 5 * n), generator=g) for n in (1, 2, 4, 8)]
    packed = pack(scales)
    assert packed.shape == (2, 15, 5)
    assert torch.equal(packed[:, 2, 3], scales[1][:, 2 * 3 + 1])  # row 1 + j holds sub-frame j of scale 1
    for got, want in zip(unpack(packed, (1, 2, 4, 8)), scales, strict=True):
        assert torch.equal(got, want)
    assert len(unpack(packed[:, :3], (1, 2, 4, 8))) == 2


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from snac import SNAC

    torch.manual_seed(0)
    ref = SNAC(**Snac24kHz.hub_config).eval()
    folder = tmp_path_factory.mktemp("snac24")
    (folder / "config.json").write_text(json.dumps(Snac24kHz.hub_config))  # the hub layout
    torch.save(ref.state_dict(), folder / "pytorch_model.bin")
    ours = Snac24kHz.load(weights=str(folder))
    wav = speechlike(2, 4096, 24000)  # 2 coarse frames of 2048 samples
    return ours, ref, wav, ours.encode(wav), folder


@torch.inference_mode()
def test_encode_and_decode_equal_the_package(setup):
    ours, ref, wav, codes, _ = setup
    scales = ref.encode(wav)
    assert [s.shape[-1] for s in scales] == [2, 4, 8]
    assert codes.shape == (2, 7, 2) and torch.equal(codes, pack(scales))
    assert len(torch.unique(codes[:, 3:])) > 1
    # A batch decodes item by item, each with its own seeded noise (snac.py): compare item by item. The codes'
    # embeddings are looked up for the whole batch, so float rounding may differ in the last bit (1e-6 here).
    items = [[scale[b : b + 1] for scale in scales] for b in range(codes.shape[0])]
    for n, depth in enumerate(Snac24kHz.valid_depths(), start=1):
        # The package's own from_codes restricted to the first n scales, with the decoder noise seeded.
        ref.quantizer.n_codebooks = n
        try:
            expected = []
            for item in items:
                torch.manual_seed(0)
                expected.append(ref.decoder(ref.quantizer.from_codes(item[:n])))
        finally:
            ref.quantizer.n_codebooks = 3
        torch.testing.assert_close(ours.decode(codes[:, :depth]), torch.cat(expected), rtol=0, atol=1e-6)
    full = []
    for item in items:
        torch.manual_seed(0)
        full.append(ref.decode(item))  # SNAC's own decode at full depth
    torch.testing.assert_close(ours.decode(codes), torch.cat(full), rtol=0, atol=1e-6)


def test_depths_layout_and_length(setup):
    ours, _, wav, codes, _ = setup
    check_prefix_decoding(ours, codes, 3)
    with pytest.raises(HybridbenchError, match="whole scales"):
        ours.decode(codes[:, :2])
    state = torch.random.get_rng_state()
    assert torch.equal(ours.decode(codes[:, :1]), ours.decode(codes[:, :1]))  # noise is seeded: reproducible
    assert torch.equal(torch.random.get_rng_state(), state)  # ...without touching the caller's RNG
    assert ours.decode(codes, length=4000).shape == (2, 1, 4000)
    short = wav[..., :3000]  # padded by SNAC to whole coarse frames
    assert ours.encode(short).shape[-1] == 2


def test_weights_status(setup):
    *_, folder = setup
    assert Snac24kHz.weights_status().hint == "hybridbench weights fetch snac-24khz"
    assert Snac24kHz.weights_status(str(folder)).available
    with pytest.raises(HybridbenchError, match="expected"):
        Snac32kHz.load(weights=str(folder))  # a 24 kHz checkpoint is not the 32 kHz codec
