"""The guidance sweep: one JSON line per scale on validation clips, never the fixed test set."""

import json
from pathlib import Path

import pytest

from polydit.bench.video.guidance_sweep import main
from polydit.video.pipeline import VideoGenerator


def test_one_line_per_scale_and_the_scale_changes_the_samples(
    generator: VideoGenerator, tmp_path: Path, capsys
) -> None:
    generator.save_pretrained(tmp_path / "m")
    main(["--model", str(tmp_path / "m"), "--scales", "1,3", "--clips", "2", "--steps", "2"])
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [line["given_scale"] for line in lines] == [1.0, 3.0]
    assert lines[0]["predict.psnr"] != lines[1]["predict.psnr"]


def test_refuses_the_fixed_test_clips(generator: VideoGenerator, tmp_path: Path) -> None:
    generator.save_pretrained(tmp_path / "m")
    with pytest.raises(SystemExit):
        main(["--model", str(tmp_path / "m"), "--offset", "0"])
