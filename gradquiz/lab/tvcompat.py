"""Make torchvision's Python parts importable on a CPU-only torch.

A torchvision wheel built for CUDA cannot load its C++ operators on a CPU build of torch, and
its import then stops at `operator torchvision::nms does not exist`. Its datasets, transforms
and models need none of those kernels, only the operator schemas that its Python code
registers fake implementations against. This module defines those schemas and imports again.
It is used only when the plain import fails that way.
"""

from __future__ import annotations

import sys
from types import ModuleType

import torch

# Schemas as torchvision's csrc declares them; they must stay alive to stay registered.
_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor qdets, Tensor scores, float iou_threshold) -> Tensor",
)
_libraries: list[torch.library.Library] = []


def _is_missing_operator(exc: BaseException) -> bool:
    return "torchvision::" in str(exc) and "does not exist" in str(exc)


def _define_schemas() -> None:
    if not _libraries:
        library = torch.library.Library("torchvision", "DEF")  # type: ignore[no-untyped-call]
        for schema in _SCHEMAS:
            library.define(schema)  # type: ignore[no-untyped-call]
        _libraries.append(library)


def import_torchvision() -> ModuleType:
    """`import torchvision`, defining the missing operator schemas first if it needs them."""
    try:
        import torchvision
    except RuntimeError as exc:
        if not _is_missing_operator(exc):
            raise
        # A failed import leaves half-initialised submodules behind; drop them and retry.
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        _define_schemas()
        import torchvision
    module: ModuleType = torchvision
    return module
