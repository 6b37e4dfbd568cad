"""Names and default ranges of the dynamic (-1) dimensions of a model's inputs."""
from __future__ import annotations

from typing import Any

# The one dynamic axis with a default range: serving batches are small, and TensorRT sizes its
# workspace for max.
DEFAULT_RANGES: dict[str, tuple[int, int, int]] = {"batch": (1, 8, 32)}


def axis_name(index: int) -> str:
    return "batch" if index == 0 else f"dim{index}"


def _axis_index(name: str) -> int:
    return 0 if name == "batch" else int(name[3:])


def dynamic_axes(inputs: Any) -> list[str]:
    """Names of the axes that some input marks -1 (inputs: ModelInput or plain dicts)."""
    axes: set[str] = set()
    for item in inputs:
        shape = item["shape"] if isinstance(item, dict) else item.shape
        axes.update(axis_name(i) for i, d in enumerate(shape) if d == -1)
    return sorted(axes, key=_axis_index)
