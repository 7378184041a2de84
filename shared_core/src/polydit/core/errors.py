"""polydit's exception types.

Every error a user can cause (bad file, bad flag, bad config) is a :class:`PolyditError` whose
message names the file, field or flag and says what was expected. CLIs print the message on one
line and exit non-zero, without a traceback.
"""


class PolyditError(Exception):
    """Base class of every user-facing polydit error."""


class ConfigError(PolyditError, ValueError):
    """A config field or a flag has a value outside what it accepts."""


class CheckpointError(PolyditError):
    """A checkpoint or pretrained directory is missing, corrupt, or from another package/version."""


class DataError(PolyditError):
    """A data file is unreadable or malformed."""


class SamplingError(PolyditError):
    """Sampling produced something that must not be written (NaN or infinite values)."""


class TrainingDiverged(PolyditError):
    """The training loss became NaN or infinite; the last good checkpoint is kept."""


class TrainingInterrupted(PolyditError):
    """SIGTERM/SIGINT stopped training after a finished step whose checkpoint was written.

    `step` is the last completed optimizer step and `checkpoint` the file holding it;
    `Trainer.fit(resume=True)` continues from there exactly.
    """

    def __init__(self, message: str, *, step: int = 0, checkpoint: str = "") -> None:
        super().__init__(message)
        self.step = step
        self.checkpoint = checkpoint
