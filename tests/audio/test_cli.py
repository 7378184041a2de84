"""polydit-audio end to end on a micro model: WAV files and samples.json, bad input, train on a
folder with resume and export, inpaint, info."""

import json
from pathlib import Path

import pytest
import soundfile as sf
import torch
from PIL import Image
from typer.testing import CliRunner

from polydit.audio.cli import app
from polydit.audio.io import read_audio, write_wav
from polydit.core.precision_choice import resolve_dtype

runner = CliRunner()
FAST = ("--steps", "2")


def _run(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def _one_line_error(result, *needles: str) -> str:
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_sample_writes_one_wav_per_clip_and_the_records(micro_model_dir: Path, tmp_path: Path):
    out = tmp_path / "s"
    _run("sample", "--model", micro_model_dir, "--num", 3, "--label", "C4", "--seed", 4, *FAST,
         "--out", out)  # fmt: skip
    wavs = sorted(out.glob("sample_*.wav"))
    assert [p.name for p in wavs] == ["sample_0000.wav", "sample_0001.wav", "sample_0002.wav"]
    for path in wavs:
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.frames) == (16000, 1, 16384)
        assert info.subtype == "PCM_16"
    with Image.open(out / "spectrograms.png") as picture:  # 3 tiles of 64 × 64 mel cells, ×2
        assert picture.mode == "L" and picture.size == (3 * 128 + 2 * 2, 128)
    records = json.loads((out / "samples.json").read_text())
    auto = resolve_dtype("auto", "cpu")  # the default --dtype, as resolved on this machine
    assert records == [
        {"file": p.name, "seed": 4 + i, "conditioning": {"label": "C4"}, "dtype": auto}
        for i, p in enumerate(wavs)
    ]


def test_an_unknown_label_is_one_line_naming_the_flag_and_the_classes(
    micro_model_dir: Path, tmp_path: Path
):
    out = tmp_path / "s"
    result = runner.invoke(
        app, ["sample", "--model", str(micro_model_dir), "--label", "seven", "--out", str(out)]
    )
    line = _one_line_error(result, "label 'seven'", "A3, A#3, B3, C4")
    assert "Traceback" not in result.output and "voice" not in line
    assert not (out / "samples.json").exists()
    result = runner.invoke(app, ["sample", "--model", str(micro_model_dir), "--voice", "x"])
    _one_line_error(result, "--voice", "not voice-conditioned")


def test_inpaint_verb_keeps_the_clip_outside_the_span(micro_model_dir: Path, note_clips, tmp_path):
    source = write_wav(tmp_path / "in.wav", note_clips.waves[3], 16000)
    out = tmp_path / "fill"
    _run("inpaint", "--model", micro_model_dir, "--input", source, "--start", 0.25, "--end", 0.5,
         "--num", 2, *FAST, "--out", out)  # fmt: skip
    original, _ = read_audio(out / "input.wav")
    records = json.loads((out / "samples.json").read_text())
    assert [r["file"] for r in records] == ["inpainted_0000.wav", "inpainted_0001.wav"]
    assert all(r["span"] == [0.25, 0.5] for r in records)
    keep = torch.ones(16384, dtype=torch.bool)
    keep[4000:8000] = False
    for record in records:
        filled, _ = read_audio(out / record["file"])
        assert torch.equal(filled[keep], original[keep])
        assert not torch.equal(filled[~keep], original[~keep])
    result = runner.invoke(
        app, ["inpaint", "--model", str(micro_model_dir), "--input", str(source), "--start",
              "0.5", "--end", "0.2", "--out", str(out)],
    )  # fmt: skip
    _one_line_error(result, "--start 0.5 / --end 0.2")


@pytest.fixture
def wav_folder(note_clips, tmp_path: Path) -> Path:
    """A user folder: one class per sub-folder, 6 clips each."""
    root = tmp_path / "clips"
    for k, name in enumerate(("low", "high")):
        for i in range(6):
            write_wav(root / name / f"{i}.wav", note_clips.waves[k * 30 + i], 16000)
    return root


def test_train_on_a_folder_resume_export_info_and_eval_refusal(wav_folder: Path, tmp_path):
    config = tmp_path / "micro.json"
    config.write_text(json.dumps({"preset": "micro", "train": {"batch_size": 4,
                                  "checkpoint_every": 1, "warmup_steps": 0}}))  # fmt: skip
    run = tmp_path / "run"
    _run("train", "--data", wav_folder, "--config", config, "--steps", 2, "--out", run)
    output = _run("train", "--data", wav_folder, "--config", config, "--steps", 3, "--out", run,
                  "--resume")  # fmt: skip
    assert "trained 3 steps" in output
    stored = json.loads((run / "run.json").read_text())
    assert stored["pipeline"]["codec"]["class_names"] == ["high", "low"]
    exported = tmp_path / "exported"
    _run("export", "--run", run, "--out", exported, "--cfg", 1.5)
    assert json.loads((exported / "config.json").read_text())["sampling"]["cfg_scale"] == 1.5
    info = json.loads(_run("info", "--model", exported, "--json").strip().splitlines()[-1])
    assert info["classes"] == "high, low" and info["tokens"] == 64
    result = runner.invoke(app, ["eval", "--model", str(exported), "--num", "2"])
    _one_line_error(result, "eval: the metrics are defined on the built-in sets")


def test_demo_writes_one_clip_per_class_and_their_spectrograms(micro_model_dir: Path, tmp_path):
    from polydit.audio.cli import DOMAIN

    generator = DOMAIN.load(micro_model_dir, device="cpu", dtype="fp32")
    generator.sampling = generator.sampling.override(steps=2)
    items = DOMAIN.demo(generator, tmp_path, seed=0)
    names = generator.codec.class_names
    assert [str(item.file) for item in items] == ["spectrograms.png"] + [
        f"sample_{i:04d}.wav" for i in range(len(names))
    ]
    assert all((tmp_path / item.file).is_file() for item in items)
    assert f"--label {names[1]} --num 1 --seed 1" in items[2].command
