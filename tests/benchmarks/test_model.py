"""FC-Siam-diff and the common training step, on tiny CPU inputs (32x32, width 4)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from loadbench.loaders.errors import OptionsError
from loadbench.workload.network import build_fc_siam_diff
from loadbench.workload.train_step import TrainStep

SIZE = (32, 32)
WIDTH = 4


def _batch(size: int, seed: int = 0, dtype=np.float32) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """A random (time1, time2, label) batch: float32 as the model takes it, or uint8 as
    the loaders hand it over (the training step scales it)."""
    rng = np.random.default_rng(seed)
    images = rng.random((2, size, *SIZE, 3), dtype=np.float32)
    label = (rng.random((size, *SIZE, 1)) > 0.5).astype(np.float32)
    if dtype == np.uint8:
        images = np.rint(images * 255)
    return tuple(tf.constant(a.astype(dtype)) for a in (images[0], images[1], label))


@pytest.fixture(scope="module")
def model() -> keras.Model:
    """One small model shared by the read-only model tests."""
    return build_fc_siam_diff(SIZE, width=WIDTH)


@pytest.fixture(scope="module")
def step() -> TrainStep:
    """One step shared by the tests: tracing costs seconds, and sharing also checks that
    nothing (calls, concrete_function, graph_def_bytes) traces the step a second time."""
    return TrainStep(SIZE, width=WIDTH)


def test_output_is_one_float32_logit_per_pixel(model: keras.Model) -> None:
    time1, time2, _ = _batch(2)
    logits = model([time1, time2], training=False)
    assert tuple(logits.shape) == (2, *SIZE, 1)
    assert logits.dtype == tf.float32


def test_inputs_are_named_time1_and_time2(model: keras.Model) -> None:
    assert [tensor.name for tensor in model.inputs] == ["time1", "time2"]


def test_encoder_weights_are_shared_between_branches(model: keras.Model) -> None:
    # Ten encoder convs, four transposed convs, nine decoder convs and the logits conv.
    # Two separate encoders would add ten more kernels, two of them reading 3 channels.
    kernels = [v for v in model.trainable_variables if v.path.endswith("/kernel")]
    assert len(kernels) == 24
    assert sum(1 for kernel in kernels if kernel.shape[2] == 3) == 1


def test_paper_width_gives_the_paper_parameter_count() -> None:
    # Daudt et al. report 1.35M parameters for FC-Siam-diff.
    model = build_fc_siam_diff((16, 16), width=16)
    assert sum(int(np.prod(v.shape)) for v in model.trainable_variables) == 1_350_001


@pytest.mark.parametrize("size", [(30, 32), (32, 40)])
def test_size_not_divisible_by_16_is_refused(size: tuple[int, int]) -> None:
    with pytest.raises(OptionsError, match=rf"\({size[0]}, {size[1]}\).*multiple of 16"):
        build_fc_siam_diff(size, width=WIDTH)


@pytest.mark.parametrize(("width", "dropout"), [(0, 0.2), (4, 1.0), (4, -0.1)])
def test_bad_width_or_dropout_is_refused(width: int, dropout: float) -> None:
    with pytest.raises(OptionsError):
        build_fc_siam_diff(SIZE, width=width, dropout=dropout)


def test_one_step_gives_a_finite_loss_and_moves_the_weights(step: TrainStep) -> None:
    before = [v.numpy().copy() for v in step.model.trainable_variables]
    loss = step(*_batch(2, dtype=np.uint8))
    assert loss.shape == () and loss.dtype == tf.float32
    assert np.isfinite(loss.numpy())
    after = step.model.trainable_variables
    kernels = [i for i, v in enumerate(after) if v.path.endswith("/kernel")]
    assert all(not np.array_equal(before[i], after[i].numpy()) for i in kernels)


def test_batch_sizes_share_one_trace(step: TrainStep) -> None:
    step(*_batch(2, dtype=np.uint8))
    step(*_batch(3, dtype=np.uint8))
    assert step.tracing_count == 1


def test_the_host_normalized_step_takes_float32_batches() -> None:
    step = TrainStep(SIZE, width=WIDTH, normalize="host")
    assert np.isfinite(float(step(*_batch(2))))
    with pytest.raises(TypeError):  # uint8 is the device-normalizing step's input
        step(*_batch(2, dtype=np.uint8))


def test_same_seed_gives_same_initial_weights() -> None:
    first, second = TrainStep(SIZE, width=WIDTH), TrainStep(SIZE, width=WIDTH)
    pairs = zip(first.model.trainable_variables, second.model.trainable_variables, strict=True)
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in pairs)


def test_graph_def_bytes_is_positive_and_stable(step: TrainStep) -> None:
    first = step.graph_def_bytes()
    assert first > 0
    assert step.graph_def_bytes() == first


def test_concrete_function_batch_dimension(step: TrainStep) -> None:
    assert step.concrete_function().inputs[0].shape.as_list() == [None, *SIZE, 3]
    assert step.concrete_function(4).inputs[0].shape.as_list() == [4, *SIZE, 3]
    with pytest.raises(OptionsError, match="batch size 0"):
        step.concrete_function(0)


def test_device_is_the_cpu_here(step: TrainStep) -> None:
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU is visible")
    assert step.device == "/CPU:0"
