"""The audio recipe: spec checks, the inpainting spans, a few-step run and its exact resume."""

from pathlib import Path

import pytest
import torch

from polydit.audio.data import AudioTrainSet
from polydit.audio.spans import inpaint_given
from polydit.audio.train import RECIPE, AudioSpec
from polydit.core.errors import ConfigError
from polydit.core.train import RunOptions, TrainData, fit, load_checkpoint
from polydit.core.train.checkpoint import list_checkpoints


def test_spec_defaults_round_trip_and_bad_values_are_refused():
    spec = AudioSpec()
    assert spec.process.kind == "flow_matching" and spec.process.prediction == "velocity"
    assert spec.label_dropout == 0.1 and spec.inpaint_prob == 0.25
    assert AudioSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ConfigError, match="label_dropout"):
        AudioSpec(label_dropout=1.0)
    with pytest.raises(ConfigError, match="inpaint_min"):
        AudioSpec(inpaint_min=0.0)
    with pytest.raises(ConfigError, match="nope"):
        AudioSpec().merged({"nope": 1})


def test_inpaint_given_leaves_one_contiguous_span_to_generate():
    g = torch.Generator().manual_seed(0)
    given = inpaint_given(400, 64, 0.5, 0.25, g)
    used = given.any(dim=1)
    assert 150 < int(used.sum()) < 250  # about half the clips, the others all generated
    for row in given[used]:
        generated = (~row).nonzero().flatten()
        assert len(generated) >= 16  # ceil(0.25 · 64)
        assert generated.tolist() == list(range(generated[0], generated[-1] + 1))
    assert not inpaint_given(8, 64, 0.0, 0.25, g).any()


def _weights(run: Path) -> dict[str, torch.Tensor]:
    steps = dict(list_checkpoints(run / "checkpoints"))
    return load_checkpoint(steps[max(steps)])["model"]


def test_a_resumed_run_equals_an_uninterrupted_one(note_clips, micro_spec, tmp_path: Path):
    data = TrainData(AudioTrainSet.of(note_clips), "notes")
    spec = micro_spec()
    spec = spec.replace(train=spec.train.replace(schedule="constant"))  # lr independent of steps
    whole = fit(RECIPE, spec, data, RunOptions(tmp_path / "whole", progress=False))
    assert whole.result.step == 4 and torch.isfinite(torch.tensor(whole.result.loss))
    short = spec.overridden(steps=2)
    fit(RECIPE, short, data, RunOptions(tmp_path / "split", progress=False))
    resumed = fit(RECIPE, spec, data, RunOptions(tmp_path / "split", resume=True, progress=False))
    assert resumed.result.step == 4
    a, b = _weights(tmp_path / "whole"), _weights(tmp_path / "split")
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ConfigError, match="only --steps and --dtype may change"):
        changed = spec.replace(label_dropout=0.2)
        fit(RECIPE, changed, data, RunOptions(tmp_path / "split", resume=True, progress=False))


def test_a_linear_scale_model_fits_its_codec_and_samples_clips(note_clips, micro_spec):
    mel = {"n_fft": 32, "hop": 16, "scale": "linear", "griffin_lim_iters": 2}
    generator = RECIPE.build(micro_spec(mel=mel), AudioTrainSet.of(note_clips), 0)
    assert generator.codec.token_dim == 17 and generator.codec.num_tokens == 1024
    assert generator.model.config.in_dim == 17
    out = generator.sample(2, [0, 1], seed=0, steps=2)
    assert out.waveforms.shape == (2, 16384) and bool(torch.isfinite(out.waveforms).all())
    saved = generator.codec.to_dict()
    assert saved["mel"]["scale"] == "linear"
    assert type(generator.codec).from_dict(saved) == generator.codec
