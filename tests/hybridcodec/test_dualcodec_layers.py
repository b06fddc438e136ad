"""HybridCodec builds on dualcodec's ConvNeXt block without running the dualcodec package's `__init__` (which
pulls in cloud-storage clients), and code that reads the package's own names still gets them."""

from __future__ import annotations


def test_building_a_hybridcodec_runs_no_dualcodec_init_and_the_package_still_works(fresh_python):
    fresh_python(
        """
        import sys
        from hybridcodec.config import preset
        from hybridcodec.model import HybridCodec
        import hybridcodec.streaming
        from hybridcodec.nn.dualcodec_layers import ConvNeXtBlock

        HybridCodec(config=preset("mini").model)
        leaked = [m for m in ("cached_path", "google.cloud.storage", "dualcodec.infer") if m in sys.modules]
        assert not leaked, leaked

        import dualcodec
        from dualcodec.model_codec.cnn import ConvNeXtBlock as PackageBlock

        assert ConvNeXtBlock is PackageBlock  # one package, one class: isinstance checks hold
        assert callable(dualcodec.get_model) and "cached_path" in sys.modules  # __init__ ran on first use
        assert dualcodec.Inference.__module__.startswith("dualcodec.infer")
        """
    )


def test_a_process_that_imported_dualcodec_first_keeps_its_package(fresh_python):
    fresh_python(
        """
        import dualcodec
        from hybridcodec.nn.dualcodec_layers import ConvNeXtBlock, dualcodec_package

        assert dualcodec_package() is dualcodec
        assert ConvNeXtBlock is dualcodec.model_codec.cnn.ConvNeXtBlock
        """
    )
