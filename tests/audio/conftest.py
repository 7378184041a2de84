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
