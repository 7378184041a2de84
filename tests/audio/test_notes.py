import numpy as np
import pytest
import torch

from polydit.audio.data import load_builtin
from polydit.audio.metrics import pitch_accuracy
from polydit.audio.notes import (
    WAVEFORMS,
    NoteClip,
    NotesConfig,
    envelope,
    midi_frequency,
    midi_name,
    note_recipes,
    synthesize_note,
)
from polydit.core.errors import ConfigError


def test_midi_conventions():
    assert midi_frequency(69) == 440.0 and midi_frequency(57) == 220.0
    assert midi_name(60) == "C4" and midi_name(46) == "A#2"
    assert NotesConfig().class_names[0] == "C3" and len(NotesConfig().class_names) == 37


def test_train_and_test_notes_are_different_draws_over_every_pitch_and_waveform(small_notes):
    train, test = note_recipes(small_notes, "train"), note_recipes(small_notes, "test")
    assert len(train) == len(test) == 13 * len(WAVEFORMS)
    assert {(n.pitch, n.waveform) for n in train} == {(n.pitch, n.waveform) for n in test}
    assert not {n.attack for n in train} & {n.attack for n in test}
    assert note_recipes(small_notes, "train") == train


def _note(**changes) -> NoteClip:
    base = dict(pitch=69, waveform="sawtooth", onset=0.1, attack=0.05, decay=0.1, sustain=0.5,
                gate=0.5, release=0.2, level=0.8, vibrato_depth=0.0, vibrato_rate=5.0,
                fm_ratio=2.0, fm_index=1.0)  # fmt: skip
    return NoteClip(**{**base, **changes})


def test_the_envelope_is_adsr():
    note = _note()
    t = np.array([0.05, 0.1, 0.15, 0.25, 0.4, 0.6, 0.7, 0.75, 0.9])
    expected = [0.0, 0.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.125, 0.0]  # onset 0.1 s, gate 0.5 s
    assert np.allclose(envelope(note, t), expected)


@pytest.mark.parametrize("waveform", ["square", "sawtooth", "triangle"])
def test_additive_waveforms_are_band_limited(waveform):
    wave = synthesize_note(_note(pitch=84, waveform=waveform, gate=0.9), 16000, 16384)
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave)))) ** 2  # windowed: no leakage
    freqs = np.fft.rfftfreq(len(wave), 1 / 16000)
    assert spectrum[freqs > 0.46 * 16000].sum() < 1e-9 * spectrum.sum()  # a naive saw: 1e-2
    assert np.isclose(np.abs(wave).max(), 0.8)


def test_real_notes_have_the_pitch_of_their_label(small_notes):
    data = load_builtin("notes", "test", small_notes)
    assert data.waves.shape == (65, 16384)
    assert torch.equal(data.labels, torch.from_numpy(data.info["pitch"]) - 57)
    assert pitch_accuracy(data.waves, torch.from_numpy(data.info["pitch"]), 16000) >= 0.95


def test_bad_note_configs():
    with pytest.raises(ConfigError, match="low <= high"):
        NotesConfig(low=70, high=60)
    with pytest.raises(ConfigError, match="sample_rate"):
        NotesConfig(high=127)
    with pytest.raises(ConfigError, match="split"):
        note_recipes(NotesConfig(), "val")
