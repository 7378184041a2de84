"""Pipeline: seeded sampling and the pretrained-directory round trip."""

from __future__ import annotations

import json

import pytest
import torch

from polydit.core.dit import DiT, DiTConfig
from polydit.core.errors import CheckpointError, ConfigError
from polydit.core.pipeline import Pipeline, SamplingConfig, batch_guidance
from polydit.core.process import FlowMatching
from polydit.core.tokens import Cond, Tokens


def pipeline(seed: int = 0) -> Pipeline:
    torch.manual_seed(seed)
    model = DiT(DiTConfig.preset("tiny", in_dim=4, pos_axes=1, num_classes=3))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return Pipeline(model, FlowMatching(), SamplingConfig(steps=4, cfg_scale=2.0))


def template(b: int = 3, n: int = 5) -> Tokens:
    return Tokens(
        torch.zeros(b, n, 4), torch.arange(n, dtype=torch.float32)[None, :, None].expand(b, n, 1)
    )


def test_round_trip_is_bit_exact(tmp_path):
    pipe = pipeline()
    pipe.save_pretrained(tmp_path / "m", metrics={"fd": 1.5})
    loaded = Pipeline.from_pretrained(tmp_path / "m")
    for (k, a), (_, b) in zip(
        pipe.model.state_dict().items(), loaded.model.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), k
    assert loaded.sampling == pipe.sampling and loaded.model.config == pipe.model.config
    assert json.loads((tmp_path / "m" / "metrics.json").read_text()) == {"fd": 1.5}
    cond = Cond(labels=torch.tensor([0, 1, 2]))
    assert torch.equal(
        pipe.generate(template(), cond, seed=3), loaded.generate(template(), cond, seed=3)
    )


def test_same_seed_same_samples_and_per_sample_seeds():
    pipe = pipeline()
    a = pipe.generate(template(3), seed=7)
    assert torch.equal(a, pipe.generate(template(3), seed=7))
    assert not torch.equal(a, pipe.generate(template(3), seed=8))
    # sample i is drawn from seed + i: the second sample of seed 7 is the first of seed 8
    torch.testing.assert_close(a[1:], pipe.generate(template(2), seed=8), atol=1e-5, rtol=1e-5)


def test_overrides_and_bad_settings():
    pipe = pipeline()
    few = pipe.generate(template(), steps=1)
    assert not torch.allclose(few, pipe.generate(template()))
    with pytest.raises(ConfigError, match="sampler"):
        pipe.generate(template(), sampler="rk4")
    with pytest.raises(ConfigError, match="dtype"):
        pipe.generate(template(), dtype="fp16")


def test_bf16_sampling_stays_close_to_fp32():
    pipe = pipeline()
    fp32, bf16 = pipe.generate(template(), seed=1), pipe.generate(template(), seed=1, dtype="bf16")
    assert (fp32 - bf16).abs().max() < 0.1 * fp32.abs().max()


def test_mismatched_weights_and_missing_sections(tmp_path):
    pipe = pipeline()
    pipe.save_pretrained(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["model"]["depth"] = 5
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"does not fit .*config\.json"):
        Pipeline.from_pretrained(tmp_path / "m")
    del config["process"]
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="missing section 'process'"):
        Pipeline.from_pretrained(tmp_path / "m")


class CentredPipeline(Pipeline):
    """Starts from noise with zero mean over the tokens (a molecule's centre of mass)."""

    def initial_noise(self, template: Tokens, seed: int) -> torch.Tensor:
        noise = super().initial_noise(template, seed)
        return noise - noise.mean(dim=1, keepdim=True)


def test_initial_noise_override_is_where_sampling_starts():
    plain, centred = pipeline(), pipeline()
    centred.__class__ = CentredPipeline
    # one Euler step with a zero network keeps x at its start: the initial noise is observable
    for pipe in (plain, centred):
        for p in pipe.model.head.linear.parameters():
            torch.nn.init.zeros_(p)
    start = plain.generate(template(), steps=1, cfg_scale=1.0)
    torch.testing.assert_close(start, Pipeline.initial_noise(plain, template(), 0))
    got = centred.generate(template(), steps=1, cfg_scale=1.0)
    torch.testing.assert_close(got, start - start.mean(dim=1, keepdim=True))
    assert got.mean(dim=1).abs().max() < 1e-6


def test_cache_usage_sums_the_cached_calls():
    pipe = pipeline()
    pipe.generate(template(), seed=1)
    assert pipe.cache_usage.total == 0  # uncached calls are not counted
    assert pipe.sampling_seconds > 0
    pipe.generate(template(), seed=1, cache="fora", cache_opts={"interval": 2})
    first = pipe.last_usage
    assert first is not None and first.total > 0 and first.fraction < 1.0
    pipe.generate(template(), seed=2, cache="fora", cache_opts={"interval": 2})
    assert pipe.cache_usage.total == 2 * first.total
    assert pipe.cache_usage.computed == 2 * first.computed


def test_given_guidance_holds_given_tokens_and_keeps_per_sample_seeds():
    pipe, tpl = pipeline(), template(3)
    given = torch.tensor([True, False, True, False, False]).expand(3, 5)
    known = torch.randn(3, 5, 4, generator=torch.Generator().manual_seed(2))
    cond = Cond(labels=torch.tensor([0, 1, 2]), given=given)
    guided = pipe.generate(tpl, cond, known=known, seed=4, given_scale=2.5)
    assert torch.equal(guided[given], known[given])
    plain = pipe.generate(tpl, cond, known=known, seed=4)
    assert not torch.allclose(guided[~given], plain[~given], atol=1e-3)
    # the free branch's noise is the run's initial noise: sample i depends on seed + i alone
    tail = Cond(labels=torch.tensor([1, 2]), given=given[1:])
    torch.testing.assert_close(
        guided[1:],
        pipe.generate(template(2), tail, known=known[1:], seed=5, given_scale=2.5),
        atol=1e-5,
        rtol=1e-5,
    )


def test_batched_guidance_matches_two_calls():
    from polydit.core.sampling import ClassifierFreeGuidance, ModelDenoiser, sample
    from polydit.core.sampling.context import StepContext

    pipe, tpl = pipeline(), template(3)
    cond = Cond(labels=torch.tensor([0, 1, 2]))
    assert batch_guidance(tpl, "cpu")  # 15 tokens: one call of twice the batch
    assert not batch_guidance(template(40, 5), "cpu") and batch_guidance(template(40, 5), "cuda")
    batched = pipe.generate(tpl, cond, seed=4)
    denoiser = ModelDenoiser(pipe.model, tpl.pos)
    noise = Pipeline.initial_noise(pipe, tpl, 4)
    two_calls = sample(
        ClassifierFreeGuidance(denoiser, 2.0), pipe.process, noise, steps=4, cond=cond
    )
    torch.testing.assert_close(batched, two_calls, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(batched, pipe.generate(tpl, cond, seed=4, cfg_scale=1.0), atol=1e-3)
    # and one step of each, branch by branch, is what the batched call returns in halves
    x, t = noise, torch.full((3,), 0.7)
    guided = ClassifierFreeGuidance(denoiser, 2.0, batched=True)
    ctx = StepContext(0, 4, 0.7, 0.5)
    plain = ClassifierFreeGuidance(denoiser, 2.0)
    torch.testing.assert_close(
        guided(x, t, cond, ctx), plain(x, t, cond, ctx), atol=1e-5, rtol=1e-5
    )


def test_cond_cat_fills_dropped_and_rejects_one_sided_fields():
    a = Cond(labels=torch.tensor([1, 2]))
    both = a.cat(a.unconditional())
    assert both.labels.tolist() == [1, 2, 1, 2]
    assert both.dropped.tolist() == [False, False, True, True]
    with pytest.raises(ValueError, match="'vector'"):
        a.cat(Cond(labels=torch.tensor([0]), vector=torch.zeros(1, 2)))


def test_ddpm_samples_do_not_depend_on_the_batch():
    pipe = pipeline()
    a = pipe.generate(template(3), seed=7, sampler="ddpm")
    torch.testing.assert_close(
        a[1:], pipe.generate(template(2), seed=8, sampler="ddpm"), atol=1e-5, rtol=1e-5
    )


def test_self_conditioned_sampling_feeds_back_the_previous_estimate():
    from polydit.core.sampling import SelfConditioning, StepContext

    process = FlowMatching()
    seen = []

    def denoiser(x, t, cond, ctx):
        seen.append(None if cond.self_cond is None else cond.self_cond.clone())
        return x * 0.5  # a velocity; its x0 estimate is x - t * v

    wrapped = SelfConditioning(denoiser, process)
    x, t = torch.randn(2, 3, 4), torch.full((2,), 0.5)
    for i in range(2):
        wrapped(x, t, None, StepContext(i, 2, 0.5, 0.25))
    assert seen[0] is None
    torch.testing.assert_close(seen[1], x - 0.5 * (x * 0.5))

    from polydit.core.pipeline import seeded_noise
    from polydit.core.sampling import ModelDenoiser, sample

    torch.manual_seed(0)
    model = DiT(DiTConfig.preset("tiny", in_dim=4, pos_axes=1, self_condition=True)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    fed = Pipeline(model, process, SamplingConfig(steps=4)).generate(template(), seed=0)
    plain = ModelDenoiser(model, template().pos)
    noise = seeded_noise((3, 5, 4), 0)
    with torch.no_grad():
        unfed = sample(plain, process, noise, steps=4)
        manual = sample(SelfConditioning(plain, process), process, noise, steps=4)
    torch.testing.assert_close(fed, manual)
    assert not torch.allclose(fed, unfed, atol=1e-4)


def test_build_model_hook_is_used_by_from_pretrained(tmp_path):
    class Wide(DiT):
        pass

    class WidePipeline(Pipeline):
        @classmethod
        def build_model(cls, config, codec):
            return Wide(config)

    pipeline().save_pretrained(tmp_path / "m")
    assert isinstance(WidePipeline.from_pretrained(tmp_path / "m").model, Wide)
    assert type(Pipeline.from_pretrained(tmp_path / "m").model) is DiT


def test_generate_runs_fixed_chunks_so_a_sample_ignores_the_batch(monkeypatch):
    pipe = pipeline()
    monkeypatch.setattr(Pipeline, "sample_rows", 3)
    seen: list[int] = []
    hook = pipe.model.register_forward_pre_hook(lambda _m, args: seen.append(args[0].x.shape[0]))
    cond = Cond(labels=torch.tensor([0, 1, 2, 0, 1, 2, 0]))
    seven = pipe.generate(template(7), cond, seed=3, cfg_scale=1.0)
    hook.remove()
    assert set(seen) == {3} and len(seen) == 3 * 4  # 7 samples: 3 chunks of 3, 4 steps each
    two = pipe.generate(template(2), cond.index(slice(0, 2)), seed=3, cfg_scale=1.0)
    assert torch.equal(two, seven[:2])  # same shapes in every call: the same bits
    shifted = pipe.generate(template(4), cond.index(slice(3, 7)), seed=6, cfg_scale=1.0)
    assert torch.equal(shifted, seven[3:])  # sample i depends on seed + i only
    monkeypatch.setattr(Pipeline, "sample_rows", None)
    whole = pipe.generate(template(7), cond, seed=3, cfg_scale=1.0)
    torch.testing.assert_close(whole, seven, atol=1e-5, rtol=1e-5)


def test_cached_generate_counts_usage_over_every_chunk(monkeypatch):
    pipe = pipeline()
    monkeypatch.setattr(Pipeline, "sample_rows", 2)
    plain = pipe.generate(template(5), seed=1, cfg_scale=1.0)
    assert pipe.last_usage is None
    cached = pipe.generate(
        template(5), seed=1, cfg_scale=1.0, cache="fora", cache_opts={"interval": 1}
    )
    assert torch.equal(cached, plain)
    depth, steps, chunks = len(pipe.model.blocks), 4, 3
    assert pipe.last_usage.total == depth * steps * chunks == pipe.last_usage.computed


@pytest.mark.parametrize("field", ["cfg_scale", "given_scale", "shift"])
@pytest.mark.parametrize("value", [float("inf"), float("nan"), -1.0])
def test_sampling_settings_must_be_finite_and_non_negative(field, value):
    with pytest.raises(ConfigError, match=field):
        SamplingConfig(**{field: value})
    with pytest.raises(ConfigError, match=field):
        SamplingConfig().override(**{field: value})


def test_non_finite_samples_are_an_error_not_a_result():
    from polydit.core.errors import SamplingError

    pipe = pipeline()
    with torch.no_grad():
        pipe.model.blocks[0].attn.qkv.weight.fill_(float("nan"))
    with pytest.raises(SamplingError, match=r"non-finite values .* samples 0…2 with seed 4"):
        pipe.generate(template(3), seed=4)


def test_cfg_rescale_matches_the_conditional_std_and_zero_is_plain_guidance():
    from polydit.core.sampling import ClassifierFreeGuidance
    from polydit.core.sampling.context import StepContext

    def denoiser(x, t, cond, ctx):  # the unconditional branch is a damped copy
        return x if cond.dropped is None else 0.2 * x

    x, cond, ctx = (
        torch.randn(3, 5, 4),
        Cond(labels=torch.tensor([0, 1, 2])),
        StepContext(0, 4, 0.7, 0.5),
    )
    plain = ClassifierFreeGuidance(denoiser, 4.0)(x, torch.zeros(3), cond, ctx)
    torch.testing.assert_close(plain, 0.2 * x + 4.0 * 0.8 * x)
    full = ClassifierFreeGuidance(denoiser, 4.0, rescale=1.0)(x, torch.zeros(3), cond, ctx)
    torch.testing.assert_close(full.std(dim=(1, 2)), x.std(dim=(1, 2)))
    half = ClassifierFreeGuidance(denoiser, 4.0, rescale=0.5)(x, torch.zeros(3), cond, ctx)
    torch.testing.assert_close(half, 0.5 * full + 0.5 * plain)
    with pytest.raises(ConfigError, match="cfg_rescale"):
        SamplingConfig(cfg_rescale=1.5)
    pipe = pipeline()
    rescaled = pipe.generate(
        template(3), Cond(labels=torch.tensor([0, 1, 2])), seed=2, cfg_rescale=0.7
    )
    assert not torch.equal(
        rescaled, pipe.generate(template(3), Cond(labels=torch.tensor([0, 1, 2])), seed=2)
    )


@pytest.mark.slow  # inductor compiles for 1–2 minutes on a loaded CPU
def test_a_compiled_pipeline_samples_what_the_eager_one_does(monkeypatch):
    eager = pipeline().generate(template(), seed=3)
    compiled = pipeline()
    assert compiled.compile()
    assert torch.allclose(compiled.generate(template(), seed=3), eager, atol=1e-4)
    from polydit.core.sampling.samplers import compiled_sampler

    assert compiled_sampler.cache_info().currsize == 1  # uncached: the whole loop compiled
    # the caches call the pieces one by one, compiled as well: the same as the eager cache
    for cache in ("fora", "taylorseer"):
        cached = pipeline().generate(template(), seed=3, cache=cache)
        assert torch.allclose(compiled.generate(template(), seed=3, cache=cache), cached, atol=1e-4)
    assert set(compiled.model.state_dict()) == set(pipeline().model.state_dict())
    monkeypatch.setattr("shutil.which", lambda name: None)  # no C++ compiler on this CPU
    fallback = pipeline()
    assert not fallback.compile() and torch.equal(fallback.generate(template(), seed=3), eager)


def test_seeded_labels_depend_on_the_sample_seed_alone() -> None:
    from polydit.core.pipeline import seeded_labels

    run = seeded_labels(8, 5, seed=3)
    assert run.dtype == torch.long and run.shape == (8,)
    assert torch.equal(run[2:], seeded_labels(6, 5, seed=5))  # sample 2 of seed 3 = sample 0 of 5
    counts = torch.bincount(seeded_labels(2000, 5, seed=0), minlength=5)
    assert counts.min() > 330 and counts.max() < 470  # uniform: 400 ± 3.5 σ
    assert seeded_labels(0, 5, seed=0).shape == (0,)


def test_sampled_rows_and_first_chunk_count_every_chunk():
    pipe = pipeline()
    pipe.sample_rows = 2  # an instance override: chunks of 2, 2 and 1 rows
    pipe.generate(template(b=5), seed=0)
    assert pipe.sampled_rows == 5
    rows, seconds = pipe.first_chunk
    assert rows == 2 and 0 < seconds < pipe.sampling_seconds
    pipe.generate(template(b=3), seed=0)
    assert pipe.sampled_rows == 8 and pipe.first_chunk == (rows, seconds)  # the first stays
