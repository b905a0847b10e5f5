"""The project's errors: one base with an exit code, subclasses callers tell apart.

Raised where a problem is found, caught once at the CLI edge (``loadbench.cli.main``)
and printed without a traceback (``--debug`` shows it).
"""

from __future__ import annotations


class LoadbenchError(Exception):
    """Base of every error loadbench reports to a user; ``exit_code`` is the CLI's status."""

    exit_code: int = 2


class DatasetError(LoadbenchError):
    """The dataset on disk is unusable: missing pairs, corrupt or mismatched images."""


class OptionsError(LoadbenchError):
    """A pipeline option, command argument or run setting has a value we cannot use."""


class StrategyError(LoadbenchError):
    """A loading strategy cannot be found, registered, prepared or built."""


class ConversionError(StrategyError):
    """A converted file (TFRecord shard, raw memmap file) is missing, short or corrupt."""


class RecordError(LoadbenchError):
    """A results file cannot be read: not JSON, wrong schema, missing fields."""


class PipelineError(LoadbenchError):
    """A user's own pipeline (``loadbench profile MODULE:FUNCTION``) cannot be imported,
    raised, returned something that is not a dataset, or yields what the step cannot take."""
