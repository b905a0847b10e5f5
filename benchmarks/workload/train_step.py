"""The one training step that every loading strategy's batches go through.

Keeping it identical across strategies means a difference in a benchmark is the loader's,
not the model's: same network, same loss, same optimizer, same compiled graph.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from loadbench.loaders.errors import OptionsError
from loadbench.loaders.options import NORMALIZE_MODES, Normalize
from loadbench.loaders.pipeline import scale
from loadbench.workload.device import device
from loadbench.workload.network import build_fc_siam_diff


class TrainStep:
    """Forward, loss, gradients and optimizer update, compiled once as a tf.function.

    normalize "device" takes the pipeline's uint8 batches and scales them inside the
    compiled step, on its device; "host" takes batches the pipeline already scaled to
    float32. Both scale with ``loadbench.loaders.pipeline.scale``, so the model sees the
    same values.
    on: the device to run on ("/CPU:0", "/GPU:0"); None: the GPU where there is one.
    """

    def __init__(
        self,
        image_size: tuple[int, int],
        width: int = 16,
        learning_rate: float = 1e-3,
        seed: int = 0,
        normalize: Normalize = "device",
        on: str | None = None,
    ) -> None:
        if not learning_rate > 0:
            raise OptionsError(
                f"learning rate {learning_rate!r} must be > 0; pass e.g. 1e-3 (the default)"
            )
        if normalize not in NORMALIZE_MODES:
            raise OptionsError(f"normalize {normalize!r}: one of {', '.join(NORMALIZE_MODES)}")
        self.image_size = image_size
        self.normalize = normalize
        self.device = on or device()
        keras.utils.set_random_seed(seed)
        with tf.device(self.device):
            self.model: keras.Model = build_fc_siam_diff(image_size, width)
            self.optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
            # Creating Adam's slots here, not lazily on the first apply(), keeps variable
            # creation out of the traced step and out of the first step's time and memory.
            self.optimizer.build(self.model.trainable_variables)
        self._loss = keras.losses.BinaryCrossentropy(from_logits=True)
        # A None batch dimension lets one trace serve every batch size, the short last
        # batch included; a retrace would show up as a slow, memory-hungry step.
        self._function = tf.function(self._step, input_signature=self._signature(None))
        self._fixed_batch: dict[int, tf.types.experimental.PolymorphicFunction] = {}

    def __call__(self, time1: tf.Tensor, time2: tf.Tensor, label: tf.Tensor) -> tf.Tensor:
        """Train on one batch and return its mean loss, a scalar float32 tensor."""
        return self._function(time1, time2, label)

    def warm_up(self, batch_size: int) -> None:
        """Trace and run the step once on a zero batch, so that a measurement's baseline
        already holds the compiled step and its working memory, and the loader's figures
        do not carry the one-time tracing (a few hundred MB at 256x256)."""
        time1, time2, label = (
            tf.zeros(spec.shape.as_list(), spec.dtype) for spec in self._signature(batch_size)
        )
        float(self(time1, time2, label))

    def model_inputs(self, time1: tf.Tensor, time2: tf.Tensor, label: tf.Tensor):
        """What the model sees of a batch as the pipeline hands it over: ``((time1, time2),
        label)`` as float32, scaled on the step's device where it normalizes there."""
        if self.normalize == "host":
            return (time1, time2), label
        with tf.device(self.device):
            return scale(time1, time2, label)

    @property
    def tracing_count(self) -> int:
        """How many times the step has been traced; stays 1 however many batch sizes it saw."""
        return self._function.experimental_get_tracing_count()

    def concrete_function(
        self, batch_size: int | None = None
    ) -> tf.types.experimental.ConcreteFunction:
        """The traced step for (batch_size, H, W, C) inputs; None is the one __call__ runs."""
        if batch_size is None:
            return self._function.get_concrete_function()
        if not isinstance(batch_size, int) or batch_size < 1:
            raise OptionsError(f"batch size {batch_size!r} must be an integer >= 1, or None")
        if batch_size not in self._fixed_batch:
            signature = self._signature(batch_size)
            self._fixed_batch[batch_size] = tf.function(self._step, input_signature=signature)
        return self._fixed_batch[batch_size].get_concrete_function()

    def graph_def_bytes(self) -> int:
        """Serialized size of the step's GraphDef: what the compiled step costs to hold."""
        return self.concrete_function().graph.as_graph_def().ByteSize()

    def _signature(self, batch_size: int | None) -> tuple[tf.TensorSpec, ...]:
        """Specs of (time1, time2, label) for the given (or any) batch size: uint8 where
        the step normalizes, float32 where the host did."""
        height, width = self.image_size
        dtype = tf.uint8 if self.normalize == "device" else tf.float32
        image = tf.TensorSpec((batch_size, height, width, 3), dtype)
        label = tf.TensorSpec((batch_size, height, width, 1), dtype)
        return (image, image, label)

    def _step(self, time1: tf.Tensor, time2: tf.Tensor, label: tf.Tensor) -> tf.Tensor:
        """The body that gets traced: one forward, backward and Adam update."""
        with tf.device(self.device):
            (time1, time2), label = self.model_inputs(time1, time2, label)
            with tf.GradientTape() as tape:
                logits = self.model([time1, time2], training=True)
                loss = self._loss(label, logits)
            variables = self.model.trainable_variables
            gradients = tape.gradient(loss, variables)
            self.optimizer.apply(gradients, variables)
        return loss
