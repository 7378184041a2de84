"""AudioGenerator: per-sample seeding, persistence, conditioning names, inpainting."""

from pathlib import Path

import pytest
import torch

from polydit.audio.pipeline import AudioGenerator
from polydit.core.errors import ConfigError


@pytest.fixture(scope="module")
def generator(micro_model_dir: Path) -> AudioGenerator:
    return AudioGenerator.from_pretrained(micro_model_dir)


def test_same_seed_same_bits_and_sample_i_depends_on_seed_plus_i(generator: AudioGenerator):
    labels = torch.tensor([0, 5, 12])
    three = generator.sample(3, labels, seed=7, steps=3)
    again = generator.sample(3, labels, seed=7, steps=3)
    assert torch.equal(three.waveforms, again.waveforms)
    assert three.waveforms.shape == (3, 16384) and three.sample_rate == 16000
    assert three.waveforms.abs().max() <= 1 and three.waveforms.std() > 0
    for i in range(3):
        alone = generator.sample(1, labels[i : i + 1], seed=7 + i, steps=3)
        assert torch.equal(alone.waveforms[0], three.waveforms[i]), i
    other = generator.sample(3, labels, seed=8, steps=3)
    assert not torch.equal(other.waveforms, three.waveforms)


def test_omitted_labels_are_drawn_from_the_seed_as_a_prefix(generator: AudioGenerator):
    few, many = (generator.sample(n, seed=3, steps=2) for n in (4, 9))
    assert torch.equal(few.labels, many.labels[:4])
    assert torch.equal(few.waveforms, many.waveforms[:4])
    assert len(set(many.labels.tolist())) > 1


def test_save_load_round_trip_is_bit_exact(generator: AudioGenerator, tmp_path: Path):
    first = generator.save_pretrained(tmp_path / "a")
    loaded = AudioGenerator.from_pretrained(first)
    again = loaded.save_pretrained(tmp_path / "b")
    for name in ("config.json", "model.safetensors"):
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    assert loaded.codec == generator.codec
    assert loaded.codec.class_names == generator.codec.class_names
    a, b = (g.sample(2, "A3", seed=1, steps=2).waveforms for g in (generator, loaded))
    assert torch.equal(a, b)


def test_labels_by_name_or_id_and_unknown_names_list_the_classes(generator: AudioGenerator):
    names = generator.codec.class_names
    assert generator.label_index("A3") == names.index("A3") == generator.label_index(0)
    by_name = generator.sample(2, ["A3", "C4"], seed=0, steps=2)
    assert by_name.labels.tolist() == [names.index("A3"), names.index("C4")]
    with pytest.raises(ConfigError, match=r"^label 'seven'.*A3, A#3"):
        generator.label_index("seven")
    with pytest.raises(ConfigError, match=r"^label 13 is not"):
        generator.label_index(13)
    with pytest.raises(ConfigError, match="--voice: this model is not voice-conditioned"):
        generator.voice_index("sine")


def test_voice_conditioning_sets_a_one_hot_and_checks_names(voice_model: AudioGenerator):
    names = voice_model.codec.voice_names
    assert voice_model.model.config.vector_dim == len(names) > 1
    out = voice_model.sample(2, 0, voices=names[1], seed=0, steps=2)
    assert out.voices.tolist() == [1, 1]
    cond = voice_model.cond(torch.tensor([0, 0]), torch.tensor([1, -1]))
    assert cond.vector.tolist()[0] == [float(k == 1) for k in range(len(names))]
    assert cond.vector[1].abs().sum() == 0  # any voice: the all-zero vector
    with pytest.raises(ConfigError, match=r"^voice 'alto'.*" + names[0]):
        voice_model.voice_index("alto")


def test_touched_tokens_are_the_frames_whose_window_meets_the_mask(generator: AudioGenerator):
    codec = generator.codec
    mask = torch.zeros(2, codec.num_samples, dtype=torch.bool)
    mask[0, 5000] = True  # frame f covers [256 f − 512, 256 f + 512): f = 18 … 21
    touched = codec.touched_tokens(mask)
    assert touched[0].nonzero().flatten().tolist() == [18, 19, 20, 21]
    assert not touched[1].any()


def test_inpaint_keeps_the_input_outside_the_span_bit_for_bit(
    generator: AudioGenerator, note_clips
):
    clips = note_clips.waves[:2]
    mask = torch.zeros_like(clips, dtype=torch.bool)
    mask[:, 4000:9000] = True
    out = generator.inpaint(clips, mask, seed=0, steps=3)
    assert out.waveforms.shape == clips.shape
    assert torch.equal(out.waveforms[~mask], clips[~mask])
    assert not torch.equal(out.waveforms[mask], clips[mask])
    assert out.labels.tolist() == [-1, -1]  # unconditional unless asked
    again = generator.inpaint(clips[1], mask[1], seed=1, steps=3)
    assert torch.equal(again.waveforms[0], out.waveforms[1])  # clip i from seed + i
    with pytest.raises(ConfigError, match="inpaint: audio"):
        generator.inpaint(clips[:, :100], mask[:, :100])
