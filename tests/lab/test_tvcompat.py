from __future__ import annotations

import subprocess
import sys


def test_torchvision_python_parts_import_on_cpu_torch() -> None:
    code = """
from gradquiz.lab.tvcompat import import_torchvision
tv = import_torchvision()
from torchvision import datasets, models, transforms
image, _ = datasets.FakeData(size=1, image_size=(3, 4, 4), transform=transforms.ToTensor())[0]
print(tuple(image.shape), models.resnet18(weights=None).fc.in_features)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.split("\n")[-2] == "(3, 4, 4) 512"


def test_other_import_errors_are_not_hidden() -> None:
    code = """
import sys
from gradquiz.lab import tvcompat
sys.modules['torchvision'] = None  # makes `import torchvision` fail differently
try:
    tvcompat.import_torchvision()
except ImportError as exc:
    print('ImportError')
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip() == "ImportError"
