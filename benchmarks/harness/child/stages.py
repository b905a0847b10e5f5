"""A tf.data pipeline as its stages, in the measuring child: each transformation from
the source on, and the pipeline up to any one of them, on stock TensorFlow.

Every ``tf.data.Dataset`` a pipeline is made of keeps its input (``_inputs()``): walking
from the last back to the source lists the transformations in order, and each of those
datasets is itself a pipeline that can be iterated alone: the source, then the source
with the first transformation, and so on (``prefix``). What ``describe`` says of each,
it reads from the dataset object and its function's graph: which transformation, the
Python function's name (map, filter, interleave, flat_map), its parallelism and the ops
that tell its kind (Python, decoding, reading). ``from_generator`` is made of two
datasets (a one-element tensor and a flat_map over the generator): one stage here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

# Ops that put Python in the loop, decode or parse, and read files.
PYTHON_OPS = frozenset({"EagerPyFunc", "PyFunc", "PyFuncStateless", "GeneratorDataset"})
READ_SOURCES = frozenset({"TFRecordDatasetV2", "FixedLengthRecordDatasetV2", "TextLineDatasetV2"})
READ_OPS = frozenset({"ReadFile", "MatchingFiles", "TFRecordDataset", "FixedLengthRecordDataset"})
READ_OPS |= READ_SOURCES | {"TextLineDataset"}
BATCHING = frozenset({"Batch", "PaddedBatch", "ParallelBatch", "DenseToRaggedBatch"})
WITH_FUNCTION = {"Map", "ParallelMap", "Filter", "Interleave", "ParallelInterleave", "FlatMap"}
PY_DATASET = "PyDataset"  # the generator's name where it is Keras's PyDataset adapter
# Dataset classes that are not stages of their own: options set on the whole pipeline.
FOLDED = frozenset({"Options"})


@dataclass(frozen=True)
class Stage:
    """One transformation of a pipeline (index 0: its source), as ``describe`` read it.

    name: the transformation as its method is called (``map``, ``batch``, ``prefetch``,
        ``from_generator``); call: with its function and settings, as printed
        (``map(read, parallel=AUTOTUNE)``); function: the Python function's name, for
        map, filter, interleave and flat_map; parallel: its parallel calls (-1: AUTOTUNE;
        None: not a stage that takes any); sequential: a map or interleave that runs one
        call at a time and could run in parallel; ops: the notable ops of its function
        (Python, decoding, reading); batched: its elements are batches (samples counted
        along the first dimension) rather than single samples; batch_size: the
        ``batch`` stage's size."""

    index: int
    name: str
    call: str
    function: str | None = None
    parallel: int | None = None
    sequential: bool = False
    ops: tuple[str, ...] = ()
    batched: bool = False
    batch_size: int | None = None

    @property
    def python(self) -> bool:
        return any(op in PYTHON_OPS for op in self.ops)

    @property
    def random(self) -> bool:
        """Its function draws random numbers (an augmentation): a cache after it would
        freeze the draws of the first epoch."""
        return any("Random" in op for op in self.ops)

    @property
    def decoding(self) -> tuple[str, ...]:
        return tuple(op for op in self.ops if op.startswith(("Decode", "Parse")))

    @property
    def reading(self) -> tuple[str, ...]:
        return tuple(op for op in self.ops if op in READ_OPS)


def chain(ds: Any) -> list[list[Any]]:
    """The pipeline's datasets from its source to its end, grouped into stages: each
    group's last dataset is the pipeline up to that stage."""
    nodes = []
    node = ds
    while node is not None:
        nodes.append(node)
        inputs = node._inputs()
        node = inputs[0] if inputs else None
    nodes.reverse()
    groups: list[list[Any]] = []
    for node in nodes:
        kind = _kind(node)
        joins = kind in FOLDED or (len(groups) == 1 and _generator_of(node) is not None)
        if groups and joins:  # options, or from_generator's flat_map over its tensor
            groups[-1].append(node)
        else:
            groups.append([node])
    return groups


def describe(ds: Any) -> list[Stage]:
    """Each stage of ``ds``, source first. From a ``batch`` stage on, elements are
    batches; in a pipeline with no batch stage, every element is one already (a
    PyDataset's, a generator's of batches)."""
    return _described(chain(ds))


def _described(groups: list[list[Any]]) -> list[Stage]:
    found = [_stage(index, group) for index, group in enumerate(groups)]
    batched = not any(stage.batch_size is not None for stage in found)
    stages = []
    for stage in found:
        batched = batched or stage.batch_size is not None
        stages.append(replace(stage, batched=batched))
    return stages


def prefix(ds: Any, index: int) -> tuple[Any, bool]:
    """The pipeline ``ds`` up to and including its stage ``index``, with the options set
    on the whole pipeline, and whether its elements are batches."""
    groups = chain(ds)
    if not 0 <= index < len(groups):
        raise IndexError(f"stage {index}: the pipeline has stages 0 to {len(groups) - 1}")
    return groups[index][-1].with_options(ds.options()), _described(groups)[index].batched


def _kind(node: Any) -> str:
    """'ParallelMap' for ``_ParallelMapDataset``, 'TFRecordDatasetV2' kept whole."""
    name = type(node).__name__.lstrip("_")
    if name in READ_SOURCES:
        return name
    return re.sub(r"(V\d)?$", "", name.removesuffix("V2").removesuffix("Dataset"))


def _stage(index: int, group: list[Any]) -> Stage:
    node = next((n for n in reversed(group) if _kind(n) not in FOLDED), group[0])
    kind = _kind(node)
    generator = _generator_of(node)
    if generator is not None:
        ops = _ops(node)
        return Stage(index, "from_generator", f"from_generator({generator})", generator, ops=ops)
    function = _function_name(node) if kind in WITH_FUNCTION else None
    parallel = _int(getattr(node, "_num_parallel_calls", None))
    ops = _ops(node) + ((kind,) if kind in READ_SOURCES else ())
    name = _snake(kind)
    settings: list[str] = []
    if function:
        settings.append(function)
    size = None
    if kind in BATCHING:
        size = _int(getattr(node, "_batch_size", None))
        settings.append(str(size))
        name = "batch" if kind == "Batch" else name
    elif kind in {"Prefetch", "Shuffle"}:
        settings.append(_count(_int(getattr(node, "_buffer_size", None))))
    elif kind == "Cache":
        filename = getattr(node, "_filename", b"")
        filename = filename.numpy() if hasattr(filename, "numpy") else filename
        settings.append("file" if filename else "memory")
    if kind in {"ParallelMap", "ParallelInterleave"}:
        name = name.removeprefix("parallel_")
        settings.append(f"parallel={_count(parallel)}")
    sequential = kind in {"Map", "Interleave", "FlatMap"}
    call = f"{name}({', '.join(s for s in settings if s)})"
    return Stage(index, name, call, function, parallel, sequential, ops, batch_size=size)


def _count(value: int | None) -> str:
    return "AUTOTUNE" if value == -1 else "?" if value is None else str(value)


def _snake(kind: str) -> str:
    names = {"TensorSlice": "from_tensor_slices", "Tensor": "from_tensors", "Range": "range"}
    if kind in names:
        return names[kind]
    if kind in READ_SOURCES:
        return kind.removesuffix("V2")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


def _int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value.numpy() if hasattr(value, "numpy") else value)
    except (TypeError, ValueError):
        return None


def _wrapper(node: Any) -> Any:
    for attr in ("_map_func", "_predicate", "_func"):
        found = getattr(node, attr, None)
        if found is not None and hasattr(found, "function"):
            return found
    return None


def _function_name(node: Any) -> str | None:
    wrapper = _wrapper(node)
    func = getattr(wrapper, "_func", None)
    name = getattr(func, "__name__", None)
    return name if isinstance(name, str) else None


def _ops(node: Any) -> tuple[str, ...]:
    """The notable ops of the stage's function, nested functions included."""
    wrapper = _wrapper(node)
    if wrapper is None:
        return ()
    try:
        graph = wrapper.function.graph.as_graph_def()
    except Exception:  # a function TensorFlow cannot hand back: nothing to tell
        return ()
    found = {n.op for n in graph.node}
    for library in graph.library.function:
        found.update(n.op for n in library.node_def)
    notable = found & (PYTHON_OPS | READ_OPS)
    notable.update(op for op in found if "Random" in op)
    notable.update(op for op in found if op.startswith(("Decode", "Parse")))
    return tuple(sorted(notable))


def _generator_of(node: Any, depth: int = 4) -> str | None:
    """The name of the Python generator a ``from_generator`` flat_map runs, else None."""
    if _kind(node) != "FlatMap":
        return None
    func = getattr(_wrapper(node), "_func", None)
    return _find_generator(func, depth)


def _find_generator(func: Any, depth: int) -> str | None:
    if depth == 0 or func is None:
        return None
    for cell in getattr(func, "__closure__", None) or ():
        try:
            held = cell.cell_contents
        except ValueError:
            continue
        generator = getattr(held, "_generator", None)
        if generator is not None:
            if "py_dataset_adapter" in str(getattr(generator, "__module__", "")):
                return PY_DATASET  # Keras's adapter hands a PyDataset's batches over
            return str(getattr(generator, "__name__", type(generator).__name__))
        if callable(held):
            found = _find_generator(held, depth - 1)
            if found:
                return found
    return None


def counted(batched: bool) -> Callable[[Any], tuple[tuple[Any, ...], int]]:
    """A stage's element as the loop's one argument, and its samples: one for a single
    sample, else the first dimension of its first tensor."""

    def unpack(element: Any) -> tuple[tuple[Any, ...], int]:
        if not batched:
            return (element,), 1
        import tensorflow as tf

        leaves = tf.nest.flatten(element)
        shape = getattr(leaves[0], "shape", None) if leaves else None
        first = shape[0] if shape is not None and len(shape) else None
        return (element,), int(first) if first is not None else 1

    return unpack
