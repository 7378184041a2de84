"""The inpainting baseline of the evaluation protocol."""

import torch

from polydit.audio.evaluate import crossfade_fill


def test_crossfade_fill_blends_the_neighbouring_audio_across_the_span():
    waves = torch.arange(2 * 40, dtype=torch.float32).reshape(2, 40)
    out = crossfade_fill(waves, 10, 20)
    keep = torch.ones(40, dtype=torch.bool)
    keep[10:20] = False
    assert torch.equal(out[:, keep], waves[:, keep])
    assert torch.equal(out[:, 10], waves[:, 0])  # weight 1 on the audio before the span
    assert torch.equal(out[:, 19], waves[:, 29])  # weight 1 on the audio after it
    w = torch.linspace(0, 1, 10)
    assert torch.allclose(out[0, 10:20], (1 - w) * waves[0, 0:10] + w * waves[0, 20:30])
    edge = crossfade_fill(waves, 0, 30)  # nothing before the span; 10 samples after it
    after = torch.nn.functional.pad(waves[0, 30:], (0, 20))
    assert torch.allclose(edge[0, :30], torch.linspace(0, 1, 30) * after)
