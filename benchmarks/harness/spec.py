"""What one isolated measurement is: a strategy, a dataset, pipeline options and a mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from loadbench.harness.child.data_service import PROCESSING_MODES
from loadbench.harness.child.settle import Settling
from loadbench.loaders.dataset.layout import Split
from loadbench.loaders.errors import OptionsError
from loadbench.loaders.options import PipelineOptions
from loadbench.workload.accelerators import Choice

Mode = Literal["iterate", "train"]
MODES: tuple[Mode, ...] = ("iterate", "train")


@dataclass(frozen=True, kw_only=True)
class Probing:
    """How a child measures a pipeline, whatever the pipeline is (a strategy on a split,
    ``RunSpec``; a user's own, ``loadbench.harness.commands.profile.ProfileSpec``).

    steps: batches measured after the warm-up (the dataset repeats as needed), fixed so
        every strategy does the same work.
    min_measured_s: a time floor: after ``steps``, the run goes on taking batches until
        the measured ones span this many seconds (0: exactly ``steps``), so that a fast
        pipeline is not timed over a few hundredths of a second. Figures that depend on
        how much was read (a memory map's resident pages, an in-memory cache) then depend
        on the machine's speed too: the record's ``steps`` says how many were taken.
    warmup_steps: batches consumed first and excluded from the rates: they pay for
        tracing, thread start-up and autotuning.
    sample_interval_s: period of the process-tree memory sampler.
    memray_path: where a memray-tracked run writes its capture (None: not tracked).
    log_path: file that takes the child's stdout and stderr (TensorFlow's start-up
        lines, a crash's last words); None leaves them on the terminal.
    service: route the pipeline through the tf.data service: a worker count ("2": the
        child starts a dispatcher and that many worker processes on localhost) or the
        ``grpc://host:port`` of a dispatcher the user runs; None or "0": no service.
    processing_mode: the service's "parallel_epochs" (every worker an epoch) or
        "distributed_epoch" (the workers share one).
    accelerator: in train mode, the real step or the emulated accelerator it runs
        (``loadbench.workload.accelerators``); the default is the GPU's real step where
        there is one, else the default emulated accelerator.
    fed_search: in train mode, also find how many such accelerators the pipeline keeps
        at 90% busy (``loadbench.harness.child.feeding``).
    fed_start: the count that search measures first, with the next one: a repeat
        confirms what the earlier repeats found; None: the count the run's measured
        supply and hand-over predict.
    settling: go on after ``steps`` and ``min_measured_s`` until the tree's memory has
        settled, at most ``settling.max_s`` of measured batches
        (``loadbench.harness.child.settle``); None: stop there.
    stage: measure the pipeline only up to and including this stage (0: its source;
        ``loadbench.harness.child.stages``), its elements as they are, as ``diagnose``
        does; None: the whole pipeline.
    tf_options: ``tf.data.Options`` set on the pipeline as (name, value) pairs
        (``loadbench.harness.child.tuning.KNOBS``), over its own, as ``tune`` tries them.
    memory_budget_bytes: a run that settles stops once the tree's RSS passes its baseline
        by this many bytes (``tune``'s budget; the record's peak says by how much).
    """

    steps: int = 40
    warmup_steps: int = 5
    min_measured_s: float = 0.0
    sample_interval_s: float = 0.05
    memray_path: str | None = None
    log_path: str | None = None
    service: str | None = None
    processing_mode: str = "parallel_epochs"
    accelerator: Choice = field(default_factory=Choice)
    fed_search: bool = True
    fed_start: int | None = None
    settling: Settling | None = None
    stage: int | None = None
    tf_options: tuple[tuple[str, Any], ...] = ()
    memory_budget_bytes: int | None = None

    @property
    def distributed(self) -> bool:
        """Whether the pipeline goes through the tf.data service."""
        return self.service not in (None, "0")

    @property
    def starts_service(self) -> bool:
        """Whether the run starts its own dispatcher and workers (not a grpc:// one)."""
        return self.distributed and not str(self.service).startswith("grpc://")

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise OptionsError(f"--steps {self.steps}: must be at least 1")
        if self.warmup_steps < 0:
            raise OptionsError(f"--warmup {self.warmup_steps}: must be 0 or more")
        if self.processing_mode not in PROCESSING_MODES:
            raise OptionsError(
                f"--processing-mode {self.processing_mode!r}: one of {', '.join(PROCESSING_MODES)}"
            )
        if self.min_measured_s < 0:
            raise OptionsError(f"--min-time {self.min_measured_s:g}: must be 0 or more")
        if self.stage is not None and self.stage < 0:
            raise OptionsError(f"stage {self.stage}: must be 0 (the source) or more")
        if self.sample_interval_s <= 0:
            raise OptionsError(f"sample interval {self.sample_interval_s}: must be > 0")


@dataclass(frozen=True, kw_only=True)
class RunSpec(Probing):
    """Everything a child process needs to measure one strategy's run; frozen and checked
    once. The measuring fields are ``Probing``'s.

    width: FC-Siam-diff width in train mode; None picks the paper's 16 on a GPU and 4 on
        a CPU, where width 16 takes seconds per step at 256x256.
    preset: the named pipeline the options come from (``--preset``), for the record.
    skip_unpaired: describe the split leaving out files whose name is missing from a
        folder, instead of refusing it (the seed preset: ``loadbench.loaders.dataset.layout``).
    described: the split as the parent described and checked it (``plan``), so that the
        child does not read every image header again (0.17-0.23 s a run at 1,000 pairs);
        None: the child describes ``data_root``/``split`` itself.
    """

    strategy: str
    mode: Mode
    data_root: str
    split: str
    synthetic: bool
    options: PipelineOptions
    cache_root: str
    width: int | None = None
    preset: str | None = None
    skip_unpaired: bool = False
    described: Split | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise OptionsError(f"mode {self.mode!r}: must be one of {', '.join(MODES)}")
        super().__post_init__()
