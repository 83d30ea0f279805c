"""Importing visiondata stays cheap: no torch, torchvision or optional backend at import."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_load_heavy_modules() -> None:
    code = (
        "import sys, visiondata, visiondata.datasets, visiondata.models, visiondata.training, visiondata.cli\n"
        "import visiondata.boxes, visiondata.formats, visiondata.transforms, visiondata.viz, visiondata.collate, visiondata.loaders\n"
        "import visiondata.shards\n"
        "visiondata.list_datasets(); visiondata.dataset_info('mnist')\n"
        "heavy = [m for m in ('torch', 'torchvision', 'pandas', 'PIL', 'albumentations', 'timm', 'numpy', 'webdataset', 'fsspec', 's3fs') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""


def test_lazy_names_load_on_first_use() -> None:
    code = (
        "import sys, visiondata.models as models\n"
        "assert 'torch' not in sys.modules\n"
        "print(models.MNISTCNN.__name__, 'torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["MNISTCNN", "True"]
