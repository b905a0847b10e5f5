"""Named pipelines: each preset is a function from one run configuration to another."""

from __future__ import annotations

from dataclasses import replace

from benchmarks.harness.plan import RunConfig
from loaders.errors import OptionsError
from loaders.options import AUTOTUNE, CacheMode, PipelineOptions

# seed: the pipeline of the story in DESIGN.md, on a dataset twice the shuffle buffer, so
# that a cache that keeps the split shows as more than the buffer does.
SEED_STRATEGY = "generator"
SEED_BATCH = 200
SEED_SHUFFLE = 1000
SEED_PAIRS = 2000
SEED_CACHES: tuple[CacheMode, ...] = ("memory", "file", "none")


def seed(config: RunConfig, epochs: int, batch_size: int | None) -> RunConfig:
    """The original pipeline, ``.cache().shuffle(1000).batch(200).repeat().prefetch(
    AUTOTUNE)`` from a generator, once with each cache, over whole ``epochs`` with no
    warm-up (so the first epoch's cache growth is in the timeline). It iterates: the
    question is the pipeline's memory, not the model's."""
    if epochs < 2:
        raise OptionsError(f"--epochs {epochs}: the seed preset needs at least 2 epochs")
    if config.strategies != (SEED_STRATEGY,) or config.modes != ("iterate",):
        raise OptionsError(
            f"--preset seed runs {SEED_STRATEGY} iterating; leave out --loaders and --mode"
        )
    data = config.datasets[0].split
    batch = batch_size or SEED_BATCH
    batches = -(-data.pairs // batch)  # the last may be partial
    given = config.variants[0]
    base = PipelineOptions(
        batch_size=batch,
        shuffle_buffer=SEED_SHUFFLE,
        seed=given.seed,
        prefetch=AUTOTUNE,
        parallelism=given.parallelism,
        normalize="host",  # the article's pipeline hands the model floats it made
    )
    return replace(
        config,
        variants=tuple(replace(base, cache=cache) for cache in SEED_CACHES),
        batch_given=True,
        steps=epochs * batches,
        warmup=0,
        ceilings=False,
        preset="seed",
    )
