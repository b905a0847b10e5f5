"""FC-Siam-diff, the change-detection network every loading strategy's batches train.

Daudt, Le Saux and Boulch (2018), "Fully Convolutional Siamese Networks for Change
Detection", ICIP 2018, pp. 4063-4067, arXiv:1810.08462. Layout follows the authors'
reference code (github.com/rcdaudt/fully_convolutional_change_detection, ``siamunet_diff.py``).
"""

from __future__ import annotations

import keras

from loadbench.loaders.errors import OptionsError

# Encoder stages: (channels as a multiple of width, number of 3x3 convs). One 2x2 max-pool
# follows each stage, so the image sides must be multiples of 2**4.
ENCODER_STAGES: tuple[tuple[int, int], ...] = ((1, 2), (2, 2), (4, 3), (8, 3))
# Decoder convs per stage, deepest first, as multiples of width. The last stage's single
# conv is followed by the 1-channel logits conv.
DECODER_STAGES: tuple[tuple[int, ...], ...] = ((8, 8, 4), (4, 4, 2), (2, 1), (1,))
SIDE_MULTIPLE = 2 ** len(ENCODER_STAGES)


def build_fc_siam_diff(
    image_size: tuple[int, int], width: int = 16, dropout: float = 0.2
) -> keras.Model:
    """FC-Siam-diff (Daudt et al., ICIP 2018) taking inputs "time1"/"time2", giving logits.

    The encoder is one sub-model called on both images, so its weights are shared; the
    decoder sees |skip_t1 - skip_t2| at every scale. ``width`` 16 gives the paper's widths.
    """
    height, image_width = _check_options(image_size, width, dropout)
    shape = (height, image_width, 3)
    time1 = keras.Input(shape=shape, dtype="float32", name="time1")
    time2 = keras.Input(shape=shape, dtype="float32", name="time2")
    encoder = _build_encoder(shape, width, dropout)
    *skips1, _ = encoder(time1)
    # The reference code decodes from the second image's bottleneck (its ``x4p`` is
    # overwritten by the time2 pass); we keep that so the model matches the paper's.
    *skips2, bottom = encoder(time2)
    x = bottom
    stages = range(len(ENCODER_STAGES), 0, -1)
    deepest_first = zip(stages, skips1[::-1], skips2[::-1], DECODER_STAGES, strict=True)
    for stage, skip1, skip2, multiples in deepest_first:
        x = _decoder_stage(x, skip1, skip2, multiples, width, dropout, stage)
    logits = keras.layers.Conv2D(1, 3, padding="same", dtype="float32", name="logits")(x)
    return keras.Model(inputs=[time1, time2], outputs=logits, name="fc_siam_diff")


def _check_options(image_size: tuple[int, int], width: int, dropout: float) -> tuple[int, int]:
    """Return (height, width) of the image, or raise OptionsError for unusable options."""
    if len(image_size) != 2 or any(not isinstance(side, int) or side < 1 for side in image_size):
        raise OptionsError(
            f"image size {image_size!r} is not a (height, width) pair of positive integers; "
            "pass e.g. (256, 256)"
        )
    if any(side % SIDE_MULTIPLE for side in image_size):
        fitted = tuple(max(SIDE_MULTIPLE, side - side % SIDE_MULTIPLE) for side in image_size)
        raise OptionsError(
            f"image size {tuple(image_size)} must be a multiple of {SIDE_MULTIPLE} in height "
            f"and width (FC-Siam-diff pools {len(ENCODER_STAGES)} times); "
            f"resize or crop the images, e.g. to {fitted}"
        )
    if not isinstance(width, int) or width < 1:
        raise OptionsError(f"model width {width!r} must be an integer >= 1 (the paper uses 16)")
    if not 0.0 <= dropout < 1.0:
        raise OptionsError(f"dropout {dropout!r} must be in [0, 1) (the paper uses 0.2)")
    return image_size[0], image_size[1]


def _build_encoder(shape: tuple[int, int, int], width: int, dropout: float) -> keras.Model:
    """The shared encoder: outputs each stage's pre-pool features, then the last pooled map."""
    image = keras.Input(shape=shape, dtype="float32", name="image")
    x = image
    skips = []
    for stage, (multiple, convs) in enumerate(ENCODER_STAGES, start=1):
        for conv in range(1, convs + 1):
            x = _conv_block(x, multiple * width, dropout, f"enc{stage}_conv{conv}")
        skips.append(x)
        x = keras.layers.MaxPooling2D(2, name=f"enc{stage}_pool")(x)
    return keras.Model(inputs=image, outputs=[*skips, x], name="encoder")


def _decoder_stage(
    x: keras.KerasTensor,
    skip1: keras.KerasTensor,
    skip2: keras.KerasTensor,
    multiples: tuple[int, ...],
    width: int,
    dropout: float,
    stage: int,
) -> keras.KerasTensor:
    """Upsample x, join it with |skip1 - skip2| and run the stage's conv blocks."""
    x = keras.layers.Conv2DTranspose(
        x.shape[-1], 3, strides=2, padding="same", name=f"dec{stage}_up"
    )(x)
    difference = keras.ops.abs(keras.layers.Subtract(name=f"dec{stage}_skip_diff")([skip1, skip2]))
    x = keras.layers.Concatenate(name=f"dec{stage}_concat")([x, difference])
    for conv, multiple in enumerate(multiples, start=1):
        x = _conv_block(x, multiple * width, dropout, f"dec{stage}_conv{conv}")
    return x


def _conv_block(x: keras.KerasTensor, filters: int, dropout: float, name: str) -> keras.KerasTensor:
    """3x3 conv, BatchNorm, ReLU and Dropout: the paper's unit on every conv but the last."""
    x = keras.layers.Conv2D(filters, 3, padding="same", name=name)(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    x = keras.layers.ReLU(name=f"{name}_relu")(x)
    return keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
