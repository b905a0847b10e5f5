"""Which device the training step runs on, and GPU:0's memory: the one place loadbench
asks TensorFlow whether there is a GPU (``tf.config``, the standard experimental API)."""

from __future__ import annotations

import tensorflow as tf

from loadbench.reports.records import DEFAULT_WIDTH


def has_gpu() -> bool:
    return bool(tf.config.list_physical_devices("GPU"))


def device() -> str:
    """The device the step runs on: the first GPU when TensorFlow sees one, else the CPU."""
    return "/GPU:0" if has_gpu() else "/CPU:0"


def default_width() -> int:
    """The model width a run that leaves it to the machine gets."""
    return DEFAULT_WIDTH["gpu" if has_gpu() else "cpu"]


def gpu_name() -> str | None:
    """GPU:0's name as TensorFlow reports it; None without a GPU."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    return str(details.get("device_name", gpus[0].name))


def reset_gpu_peak() -> bool:
    """Reset GPU:0's peak counter; False when TensorFlow sees no GPU."""
    if not has_gpu():
        return False
    tf.config.experimental.reset_memory_stats("GPU:0")
    return True


def gpu_peak_bytes() -> int | None:
    """Peak bytes on GPU:0 since the reset; None (not 0) without a GPU."""
    if not has_gpu():
        return None
    return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
