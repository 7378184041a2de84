"""Audio tests generate built-in sets into a temporary cache, at small configs."""

from __future__ import annotations

import pytest

from polydit.audio.data import _load_builtin
from polydit.audio.notes import NotesConfig
from polydit.audio.speech import SpeechConfig


@pytest.fixture
def small_speech() -> SpeechConfig:
    """One rendition per (voice, word): 800 train and 240 test clips."""
    return SpeechConfig(renditions=1)


@pytest.fixture
def small_notes() -> NotesConfig:
    """MIDI 57…69 (A3…A4), one note per (pitch, waveform) and split: 65 clips each."""
    return NotesConfig(low=57, high=69, train_renditions=1, test_renditions=1)


@pytest.fixture(autouse=True, scope="session")
def audio_cache(tmp_path_factory: pytest.TempPathFactory):
    """POLYDIT_CACHE points at a fresh folder for the whole session."""
    path = tmp_path_factory.mktemp("polydit-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POLYDIT_CACHE", str(path))
        _load_builtin.cache_clear()
        yield path
    _load_builtin.cache_clear()


@pytest.fixture(scope="session")
def note_clips(audio_cache):
    """The small notes train split (65 clips, 13 classes A3…A4) as an AudioSet."""
    from polydit.audio.data import load_builtin

    return load_builtin("notes", "train", NotesConfig(low=57, high=69, train_renditions=1))


def _micro_spec(**changes):
    """A micro DiT trained for a few steps of 8 clips (tests only)."""
    from polydit.audio.train import AudioSpec

    train = {"steps": 4, "batch_size": 8, "checkpoint_every": 2, "log_every": 1, "warmup_steps": 0}
    return AudioSpec(preset="micro").merged({"train": train, **changes})


@pytest.fixture
def micro_spec():
    """The AudioSpec of the micro test runs: ``micro_spec(**changes)``."""
    return _micro_spec


@pytest.fixture(scope="session")
def micro_model_dir(note_clips, tmp_path_factory: pytest.TempPathFactory):
    """A micro notes model trained 4 steps by core fit, saved as a pretrained directory."""

    from polydit.audio.data import AudioTrainSet
    from polydit.audio.train import RECIPE
    from polydit.core.train import RunOptions, TrainData, fit

    data = AudioTrainSet.of(note_clips)
    run = tmp_path_factory.mktemp("audio-run")
    fitted = fit(
        RECIPE, _micro_spec(), TrainData(data, note_clips.name), RunOptions(run, progress=False)
    )
    return fitted.model_dir


@pytest.fixture(scope="session")
def voice_model(note_clips):
    """A fresh micro model conditioned on a voice: the notes' waveform stands in for it."""
    from polydit.audio.data import AudioTrainSet
    from polydit.audio.train import RECIPE

    return RECIPE.build(_micro_spec(voices=True), AudioTrainSet.of(note_clips, "waveform"), 0)
