"""A user's own pipeline, in the measuring child: ``MODULE:FUNCTION`` found and called,
what it returned made a ``tf.data.Dataset``, and its elements made the step's arguments.

FUNCTION returns a ``tf.data.Dataset`` (any element structure) or a
``keras.utils.PyDataset``. An element is taken as one batch, its samples counted along
the first dimension of its first tensor (``tf.nest.flatten`` order); a dataset whose
elements are single samples (a scalar among them, or first dimensions that differ) is
refused unless ``batch`` says how many to batch, which loadbench then does with
``.batch(N, drop_remainder=True)``, as a training loop would.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loadbench.loaders.errors import PipelineError

SHOWN = 12  # names listed when a function is not found


def split_target(target: str, what: str = "FUNCTION") -> tuple[str, str]:
    """``module:function`` (or ``path/file.py:function``) as its two parts; an error
    naming the value where it is not of that form."""
    module, sep, name = target.rpartition(":")
    if not sep or not module or not name.isidentifier():
        raise PipelineError(
            f"{target!r}: expected MODULE:{what} (e.g. my_pipeline:make_dataset, or "
            f"path/to/file.py:make_dataset)"
        )
    return module, name


def resolve(target: str, what: str = "FUNCTION") -> Callable[..., Any]:
    """The callable ``target`` names, imported as Python would from the working folder."""
    module_name, name = split_target(target, what)
    try:
        module = _import(module_name)
    except PipelineError:
        raise
    except Exception as exc:  # the user's module failed as it was imported
        raise PipelineError(
            f"{target}: importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    found = getattr(module, name, None)
    if found is None:
        public = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        listed = ", ".join(public[:SHOWN]) + (" ..." if len(public) > SHOWN else "")
        raise PipelineError(
            f"{target}: {module_name!r} has no {name!r} (its callables: {listed or 'none'})"
        )
    if not callable(found):
        raise PipelineError(f"{target}: {name!r} is a {type(found).__name__}, not a function")
    return found


def _import(module_name: str) -> Any:
    if module_name.endswith(".py") or "/" in module_name:
        path = Path(module_name)
        if not path.is_file():
            raise PipelineError(f"{module_name}: no such file")
        unique = f"loadbench_user_{path.stem}"
        spec = importlib.util.spec_from_file_location(unique, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        spec.loader.exec_module(module)
        return module
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # as `python -m` would: the working folder
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise PipelineError(
                f"{module_name}: no module of that name in {Path.cwd()} or on sys.path; run "
                "from the folder that holds it, or give path/to/file.py:FUNCTION"
            ) from exc
        raise


def call(target: str, make: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """``make(**kwargs)`` as a tf.data.Dataset; errors name ``target`` and what it did."""
    import keras
    import tensorflow as tf

    try:
        inspect.signature(make).bind(**kwargs)
    except TypeError as exc:
        raise PipelineError(f"{target}: cannot take --kwargs {kwargs}: {exc}") from exc
    try:
        made = make(**kwargs)
    except Exception as exc:
        raise PipelineError(f"{target} raised {type(exc).__name__}: {exc}") from exc
    if isinstance(made, keras.utils.PyDataset):
        return _from_py_dataset(made)
    if not isinstance(made, tf.data.Dataset):
        raise PipelineError(
            f"{target} returned a {type(made).__module__}.{type(made).__name__}, not a "
            "tf.data.Dataset or a keras.utils.PyDataset"
        )
    return made


def _from_py_dataset(py_dataset: Any) -> Any:
    """A PyDataset run by Keras's own adapter (its workers and queue, as ``fit`` runs
    it), as a tf.data.Dataset."""
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

    return PyDatasetAdapter(py_dataset, shuffle=False).get_tf_dataset()


def unbatched_because(element_spec: Any) -> str | None:
    """Why the elements look like single samples rather than batches, or None."""
    import tensorflow as tf

    specs = [s for s in tf.nest.flatten(element_spec) if hasattr(s, "shape")]
    shapes = [tf.TensorShape(s.shape) for s in specs]
    if any(shape.rank == 0 for shape in shapes):
        return "a component is a scalar"
    firsts = {shape[0] for shape in shapes if shape.rank and shape[0] is not None}
    if len(firsts) > 1:
        return f"first dimensions differ ({', '.join(str(f) for f in sorted(firsts))})"
    return None


def batched(target: str, ds: Any, batch: int | None) -> Any:
    """``ds`` as batches: batched by ``batch``, or refused where it looks unbatched."""
    if batch is not None:
        return ds.batch(batch, drop_remainder=True)
    why = unbatched_because(ds.element_spec)
    if why:
        raise PipelineError(
            f"{target}: its elements look like single samples, not batches ({why}: "
            f"{ds.element_spec}); batch them in FUNCTION, or pass --batch N"
        )
    return ds


def as_arguments(element: Any) -> tuple[tuple[Any, ...], int]:
    """An element as the step's one argument, and its samples: the first dimension of
    its first tensor (1 where that tensor is a scalar)."""
    import tensorflow as tf

    leaves = tf.nest.flatten(element)
    first = leaves[0] if leaves else None
    shape = getattr(first, "shape", None)
    samples = int(shape[0]) if shape is not None and len(shape) and shape[0] is not None else 1
    return (element,), samples


class ModelStep:
    """A user's compiled Keras model's own ``train_step`` (its loss and optimizer) on each
    element, through ``train_on_batch``: it returns once the step has run. An element it
    cannot take ends the run with an error naming the model and the element."""

    def __init__(self, target: str, model_target: str, model: Any) -> None:
        self.target = target
        self.model_target = model_target
        self.model = model
        self.steps = 0

    def __call__(self, element: Any) -> float:
        import keras

        began = time.perf_counter()
        x, y, weights = keras.utils.unpack_x_y_sample_weight(element)
        try:
            self.model.train_on_batch(x, y, sample_weight=weights)
        except Exception as exc:
            if self.steps:  # it took earlier elements: the step itself failed
                raise
            raise PipelineError(
                f"{self.model_target} cannot train on {self.target}'s elements "
                f"({_structure(element)}): {type(exc).__name__}: {exc}"
            ) from exc
        self.steps += 1
        return time.perf_counter() - began


def build_model(model_target: str) -> Any:
    """The compiled Keras model ``model_target`` returns."""
    import keras

    make = resolve(model_target, "MODEL_FUNCTION")
    try:
        model = make()
    except Exception as exc:
        raise PipelineError(f"{model_target} raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(model, keras.Model):
        raise PipelineError(f"{model_target} returned a {type(model).__name__}, not a keras.Model")
    if not getattr(model, "compiled", False):
        raise PipelineError(
            f"{model_target}: the model is not compiled; call model.compile(optimizer=..., "
            "loss=...) before returning it"
        )
    return model


def _structure(element: Any) -> str:
    import tensorflow as tf

    return str(tf.nest.map_structure(lambda t: getattr(t, "shape", type(t).__name__), element))
