"""Named pipelines: each preset is a function from one run configuration to another."""

from __future__ import annotations

from dataclasses import dataclass, replace

from loadbench.harness.child.settle import WINDOW_S
from loadbench.harness.parent.plan import DEFAULT_MAX_TIME, DEFAULT_REPEATS, RunConfig
from loadbench.loaders.errors import OptionsError
from loadbench.loaders.options import AUTOTUNE, CacheMode, PipelineOptions

# seed: the article's pipeline as written (loaders/strategies/article.py), then the
# variants loadbench recommends, each on the same data, options and epochs.
SEED_STRATEGY = "article"
SEED_BATCH = 200
SEED_SHUFFLE = 1000
SEED_PAIRS = 2000
# (strategy, cache, where pixels become floats): the article's first.
SEED_RUNS: tuple[tuple[str, CacheMode, str], ...] = (
    ("article", "memory", "host"),  # float32 per sample in the generator, then .cache()
    ("generator", "memory", "device"),  # the same cache of uint8 samples
    ("generator", "none", "device"),  # no cache
    ("files", "none", "device"),  # graph-native decoding, no cache
    ("fixed_length", "none", "device"),  # decoded once to a raw file, no cache
)


@dataclass(frozen=True)
class Tier:
    """How deep a run looks, as pyperf's --fast and --rigorous: repeats of each
    measurement, the time its measured batches span at least, and whether the machine's
    ceilings are measured beside the strategies."""

    repeats: int
    min_time_s: float | None  # None: the mode's default (plan.DEFAULT_MIN_TIME)
    ceilings: bool
    # Each run goes on until its memory has settled, at most this long (None: it stops
    # after min_time_s, on the ramp): ``loadbench.harness.child.settle``.
    max_time_s: float | None = None
    # Repeats past this many run only where the earlier ones disagree (None: all run).
    least_repeats: int | None = None
    # The seconds over which a settled peak must have held (settle.WINDOW_S by default).
    settle_window_s: float = WINDOW_S


TIERS = {
    # A first look: one repeat of short runs, no ceilings (under a minute on 2 cores with
    # the dataset made: docs/trust.md).
    # Its peaks are the ramp's, not the plateau's: it does not wait for them to settle.
    "fast": Tier(repeats=1, min_time_s=0.25, ceilings=False),
    # Settled peaks; a third repeat only where the first two disagree (as pyperf sizes
    # its runs from the first): docs/measurement.md.
    "default": Tier(
        repeats=DEFAULT_REPEATS,
        min_time_s=None,
        ceilings=True,
        max_time_s=DEFAULT_MAX_TIME,
        least_repeats=2,
    ),
    # Numbers to publish: more repeats of longer runs, each of them taken, and peaks held
    # over 12 s, half as long again as the default's 8 s: memory grows in steps seconds
    # apart (settle.py, docs/measurement.md).
    "rigorous": Tier(
        repeats=5, min_time_s=3.0, ceilings=True, max_time_s=60.0, settle_window_s=12.0
    ),
}


def seed(config: RunConfig, epochs: int, batch_size: int | None) -> RunConfig:
    """The article's ``.cache().shuffle(1000).batch(200).repeat().prefetch(AUTOTUNE)``
    over its float32 generator, then each recommended variant with the same shuffle,
    batch and prefetch, over whole ``epochs`` with no warm-up (so the first epoch's
    cache growth is in the timeline). It iterates: the question is the pipeline's
    memory, not the model's."""
    if epochs < 2:
        raise OptionsError(f"--epochs {epochs}: the seed preset needs at least 2 epochs")
    if config.strategies != (SEED_STRATEGY,) or config.modes != ("iterate",):
        raise OptionsError(
            "--preset seed runs the article's pipeline and its variants, iterating; leave "
            "out --loaders and --mode"
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
    )
    runs = tuple(
        (name, replace(base, cache=cache, normalize=normalize))  # type: ignore[arg-type]
        for name, cache, normalize in SEED_RUNS
    )
    return replace(
        config,
        strategies=tuple(dict.fromkeys(name for name, _ in runs)),
        variants=tuple(options for _, options in runs),
        runs=runs,
        skip_unpaired=True,
        batch_given=True,
        steps=epochs * batches,
        warmup=0,
        ceilings=False,
        preset="seed",
        max_time_s=None,  # whole epochs, as the article ran them
        least_repeats=None,
    )
