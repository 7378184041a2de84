"""bf16 autocast sampling of the shipped mt10-dit policy predicts the actions of fp32.

(The CLI keeps this domain in fp32 under ``--dtype auto``, where bf16 is slower; an explicit
``--dtype bf16`` must still act like fp32.) Observation histories from real states of each of
the model's tasks — two seeds, at the episode start (edge-padded, as a rollout begins) and 20
scripted-expert steps in — give 40 action chunks, predicted with the model's own sampler and
steps once in fp32 and once in bf16 from the same noise seed. Tolerances:

* the mean squared difference of paired chunks ≤ 5 % of that between fp32 chunks drawn from
  another noise seed, the policy's own sampling spread (measured 5.1e-6 vs 1.3e-2, 0.04 %);
* and ≤ 1e-3 of the chunks' own variance (measured 5.1e-6 vs 0.47).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from polydit.policy.cli import DOMAIN, app
from polydit.policy.env import ScriptedExpert, make_env

SEEDS = (1000, 1001)  # the evaluation protocol's first seeds (disjoint from the demonstrations)
EXPERT_STEPS = 20
MAX_SPREAD_RATIO = 0.05
MAX_VARIANCE_RATIO = 1e-3


def histories(tasks: tuple[str, ...], n_obs: int) -> tuple[np.ndarray, list[str]]:
    """(obs histories (B, n_obs, D), the task of each): per task and seed, the edge-padded
    first observation and the last n_obs observations after EXPERT_STEPS expert steps."""
    rows, names = [], []
    for task in tasks:
        env, expert = make_env(task), ScriptedExpert(task)
        for seed in SEEDS:
            obs, _ = env.reset(seed=seed)
            seen = [obs] * n_obs
            for _ in range(EXPERT_STEPS):
                obs, *_ = env.step(expert(obs))
                seen.append(obs)
            rows += [np.stack(seen[:n_obs]), np.stack(seen[-n_obs:])]
            names += [task, task]
        env.close()
    return np.stack(rows), names


@pytest.fixture(scope="module")
def chunks() -> dict[str, np.ndarray]:
    """{"fp32" | "bf16": chunks (B, H, A) from noise seed 0, "redraw": fp32 from seed 1}."""
    policy = DOMAIN.load(DOMAIN.pretrained_root / DOMAIN.default_model, device="cpu", dtype="fp32")
    obs, tasks = histories(policy.codec.tasks, policy.codec.n_obs)
    out = {d: policy.predict(obs, tasks, seed=0, dtype=d) for d in ("fp32", "bf16")}
    return out | {"redraw": policy.predict(obs, tasks, seed=1, dtype="fp32")}


@pytest.mark.bf16
def test_bf16_action_chunks_match_fp32_far_inside_the_sampling_spread(
    chunks: dict[str, np.ndarray],
) -> None:
    fp32 = chunks["fp32"]
    paired = float(((chunks["bf16"] - fp32) ** 2).mean())
    spread = float(((chunks["redraw"] - fp32) ** 2).mean())
    variance = float(fp32.reshape(-1, fp32.shape[-1]).var(0).mean())
    assert paired <= MAX_SPREAD_RATIO * spread, (paired, spread)
    assert paired <= MAX_VARIANCE_RATIO * variance, (paired, variance)


@pytest.mark.parametrize(("flags", "ran"), [((), "fp32"), (("--dtype", "bf16"), "bf16")])
def test_the_cli_samples_in_fp32_under_auto_and_obeys_an_explicit_bf16(
    tmp_path: Path, flags: tuple[str, ...], ran: str
) -> None:
    args = ["sample", "--num", "1", "--seed", "1000", "--max-steps", "2", "--quiet", *flags]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (record,) = json.loads((tmp_path / "samples.json").read_text())
    assert record["dtype"] == ran  # auto: fp32 even on native-bf16 CPUs (bf16_speeds_up False)
