"""The README's spectrogram strip of a model: one sample per class (zero … nine), seed 0, drawn
as the 64-mel log-mel of n_fft 1024 / hop 256 (:class:`~polydit.audio.mel.MelConfig` defaults),
the settings of ``assets/spectrograms-real-test.png``, whatever the model's codec is.

Run: ``OMP_NUM_THREADS=1 uv run python -m polydit.bench.audio.spectrograms --model NAME
--out packages/audio/assets/spectrograms-NAME.png``
"""

from __future__ import annotations

import argparse

from polydit.audio.mel import MelConfig
from polydit.audio.pipeline import AudioGenerator
from polydit.audio.spectrograms import save_spectrograms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a shipped model name or directory")
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    generator = AudioGenerator.from_pretrained(args.model)
    classes = len(generator.codec.class_names)
    samples = generator.sample(classes, list(range(classes)), seed=args.seed)
    print(save_spectrograms(args.out, samples.waveforms, MelConfig(), columns=classes))


if __name__ == "__main__":
    main()
