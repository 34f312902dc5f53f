"""Kept results: found only for the very same run, never for one that did not finish."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from gradquiz.lab import cache as cache_module
from gradquiz.lab.cache import Kept, ResultCache, kept_then_fresh, same_run
from gradquiz.lab.protocol import (
    Outcome,
    Row,
    RunError,
    Snippet,
    VariantRequest,
    VariantResult,
)
from tests.conftest import PACKS, gradquiz

REQUEST = VariantRequest("q", "main", Snippet("x = 1", "q.yaml", 3), seed=1, steps=2)
RESULT = VariantResult(
    "q", "main", ["x"], [Row(1, {"x": 1}), Row(2, {"x": 1})], None, "", None, Outcome(1), 0.01
)


def test_a_kept_result_comes_back_with_its_torch_and_date(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    assert cache.get(REQUEST) is None
    cache.put(REQUEST, RESULT)
    kept = ResultCache(tmp_path).get(REQUEST)
    assert kept is not None and kept.result == RESULT
    assert kept.torch == cache_module.versions()["torch"]
    assert kept.saved[:4].isdigit() and kept.saved.endswith("+00:00")


def test_the_app_is_shown_the_kept_results_first_then_the_fresh_ones(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    other = replace(REQUEST, variant="A")
    kept_a = replace(RESULT, variant="A", rows=[Row(1, {"x": 3})])
    fresh = [replace(RESULT, rows=[Row(1, {"x": 2})], seconds=0.02), replace(kept_a, seconds=0.5)]
    shown: list[list[Kept]] = []

    def run_all(requests: Sequence[VariantRequest]) -> list[VariantResult]:
        # The kept results are on screen before the fresh runs even start.
        assert [[k.result for k in found] for found in shown] == [[RESULT, kept_a]]
        assert list(requests) == [REQUEST, other]
        return fresh

    cache.put(REQUEST, RESULT)
    cache.put(other, kept_a)
    assert kept_then_fresh(cache, [REQUEST, other], run_all, shown.append) == fresh
    assert {k.torch for k in shown[0]} == {cache_module.versions()["torch"]}
    # The fresh runs replaced the kept ones for next time.
    again = cache.get(REQUEST)
    assert again is not None and again.result == fresh[0]


def test_a_part_of_a_batch_kept_is_not_shown(tmp_path: Path) -> None:
    """Half a question's runs can neither draw its lab nor grade it: only the fresh ones count."""
    cache = ResultCache(tmp_path)
    cache.put(REQUEST, RESULT)
    other = replace(REQUEST, variant="A")
    shown: list[list[Kept]] = []
    fresh = [RESULT, replace(RESULT, variant="A")]
    assert kept_then_fresh(cache, [REQUEST, other], lambda r: fresh, shown.append) == fresh
    assert shown == []
    assert cache.get(other) is not None


def test_the_same_run_is_the_same_whatever_it_took_and_with_nan() -> None:
    nan = replace(RESULT, rows=[Row(1, {"x": float("nan")})])
    assert same_run(nan, replace(nan, rows=[Row(1, {"x": float("nan")})], seconds=9.0))
    assert not same_run(RESULT, replace(RESULT, rows=[Row(1, {"x": 1})]))
    assert not same_run(RESULT, replace(RESULT, output="printed"))


@pytest.mark.parametrize(
    "other",
    [
        replace(REQUEST, seed=2),
        replace(REQUEST, code=Snippet("x = 2", "q.yaml", 3)),
        replace(REQUEST, variant="A"),
        replace(REQUEST, watch=(("x", Snippet("x", "q.yaml", 4)),)),
    ],
)
def test_anything_that_decides_the_run_is_in_the_key(tmp_path: Path, other: VariantRequest) -> None:
    cache = ResultCache(tmp_path)
    cache.put(REQUEST, RESULT)
    assert cache.get(other) is None


def test_another_torch_is_another_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ResultCache(tmp_path).put(REQUEST, RESULT)
    monkeypatch.setattr(
        cache_module, "versions", lambda: {"torch": "9.9", "torchvision": "x", "numpy": "y"}
    )
    assert ResultCache(tmp_path).get(REQUEST) is None


def test_other_threads_are_another_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ResultCache(tmp_path).put(REQUEST, RESULT)
    monkeypatch.setattr(cache_module, "RUN_THREADS", 4)
    assert ResultCache(tmp_path).get(REQUEST) is None


def test_another_interpreter_or_processor_is_another_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ResultCache(tmp_path).put(REQUEST, RESULT)
    facts = cache_module.platform_facts()
    assert facts["python"] == [sys.implementation.name, *sys.version_info[:2]]
    for changed in ({"python": ["cpython", 3, 12]}, {"cpu": ["avx2"]}, {"overrides": {"x": "1"}}):
        other = {**facts, **changed}
        monkeypatch.setattr(cache_module, "platform_facts", lambda other=other: other)
        assert ResultCache(tmp_path).get(REQUEST) is None
    monkeypatch.setattr(cache_module, "platform_facts", lambda: facts)
    assert ResultCache(tmp_path).get(REQUEST) is not None


def test_a_variable_that_picks_torchs_kernels_is_in_the_facts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    assert cache_module.platform_facts()["overrides"] == {"ATEN_CPU_CAPABILITY": "default"}


def test_unfinished_runs_are_not_kept_and_broken_entries_are_misses(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    cache.put(REQUEST, replace(RESULT, error=RunError("Timeout", "timed out after 1 s", 1)))
    assert cache.get(REQUEST) is None and list(tmp_path.iterdir()) == []
    cache.put(REQUEST, RESULT)
    (entry,) = tmp_path.iterdir()
    entry.write_text('{"result": "{\\"kind\\": \\"result\\"}", "torch": "1", "saved": "x"}')
    assert cache.get(REQUEST) is None


def test_check_reads_the_cache_only_when_asked() -> None:
    pack = str(PACKS / "good.yaml")
    first = gradquiz("check", "--no-bundled", "--cached", pack)
    assert first.returncode == 0, first.stderr
    assert "from cache" not in first.stderr
    again = gradquiz("check", "--no-bundled", "--cached", pack)
    runs = again.stderr.split(" experiment runs")[0].rsplit(" ", 1)[1]
    assert f"{runs} experiment runs ({runs} of {runs} from cache) in " in again.stderr
    assert again.stdout == first.stdout
    fresh = gradquiz("check", "--no-bundled", pack)
    assert "from cache" not in fresh.stderr
