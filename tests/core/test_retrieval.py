"""Retrieval: keyword parsing, Jaccard scores against brute force, top-k, noise, cold start."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experience.retrieval import JaccardIndex, normalize_keywords, parse_keywords
from experience.retrieval.select import first_rows_except, topk_indices

WORDS = [f"w{i}" for i in range(12)]


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Plain-Python Jaccard; two empty sets score 0."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def brute_scores(queries: list[str | None], words: frozenset[str]) -> list[float]:
    """Reference scores straight from the definition."""
    return [jaccard(parse_keywords(q), words) for q in queries]


def brute_topk(scores: list[float], k: int) -> list[int]:
    """Reference top-k: best score first, lower index on ties."""
    return sorted(range(len(scores)), key=lambda r: (-scores[r], r))[:k]


def random_queries(
    rng: random.Random, rows: int, vocab: list[str], empty: float = 0.2
) -> list[str | None]:
    """Query texts with 0-5 keywords each; some rows empty or None."""
    out: list[str | None] = []
    for _ in range(rows):
        if rng.random() < empty:
            out.append(rng.choice([None, "", "  \n"]))
        else:
            out.append("\n".join(rng.sample(vocab, rng.randint(1, min(5, len(vocab))))))
    return out


# -- parse_keywords --------------------------------------------------------------------------


def test_parse_keywords_splits_lines_and_commas_and_normalizes() -> None:
    text = "  Sorting \nlist, Comprehension\r\n\n,  RECURSION  \nsorting\nbinary   search"
    assert parse_keywords(text) == {
        "sorting",
        "list",
        "comprehension",
        "recursion",
        "binary search",
    }


@pytest.mark.parametrize("text", [None, "", "\n\n", " , ,\n\t"])
def test_parse_keywords_of_blank_text_is_empty(text: str | None) -> None:
    assert parse_keywords(text) == frozenset()


def test_normalize_keywords_refuses_a_bare_string() -> None:
    with pytest.raises(TypeError, match="parse_keywords"):
        normalize_keywords("sorting")
    assert normalize_keywords([" Sorting ", "", "LIST"]) == {"sorting", "list"}


# -- scores ----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.lists(st.sampled_from(WORDS), max_size=5), max_size=25),
    query=st.lists(st.sampled_from([*WORDS, "unknown", "Other"]), max_size=6),
)
def test_scores_equal_brute_force(rows: list[list[str]], query: list[str]) -> None:
    queries: list[str | None] = ["\n".join(r) for r in rows]
    index = JaccardIndex(queries)
    got = index.scores(frozenset(query))
    assert got.dtype == np.float64
    assert got.shape == (len(rows),)
    np.testing.assert_allclose(got, brute_scores(queries, normalize_keywords(query)))


def test_scores_are_case_insensitive_and_count_unknown_words_in_the_union() -> None:
    index = JaccardIndex(["a\nb", "c"])
    np.testing.assert_allclose(index.scores(frozenset({"A", "zzz"})), [1 / 3, 0.0])


def test_empty_query_and_empty_row_score_zero() -> None:
    index = JaccardIndex(["", "a"])
    np.testing.assert_array_equal(index.scores(frozenset()), [0.0, 0.0])


# -- topk (exact) ----------------------------------------------------------------------------


@pytest.mark.parametrize(("rows", "vocab_size"), [(400, 300), (60, 4)])  # sparse and dense paths
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_topk_matches_brute_force_order(rows: int, vocab_size: int, seed: int) -> None:
    rng = random.Random(seed)
    vocab = [f"k{i}" for i in range(vocab_size)]
    queries = random_queries(rng, rows, vocab)
    index = JaccardIndex(queries)
    for _ in range(20):
        words = frozenset(rng.sample(vocab, rng.randint(1, 3)))
        k = rng.randint(1, rows + 3)
        assert index.topk(words, k) == brute_topk(brute_scores(queries, words), k)


def test_ties_go_to_the_lower_row_index() -> None:
    index = JaccardIndex(["x", "a\nb", "b\na", "a\nb", "a"])
    assert index.topk(frozenset({"a", "b"}), 3) == [1, 2, 3]
    # After the hits run out, zero-score rows follow in index order.
    assert index.topk(frozenset({"a", "b"}), 5) == [1, 2, 3, 4, 0]


def test_k_larger_than_rows_returns_every_row() -> None:
    index = JaccardIndex(["a", "b", "a\nb"])
    assert index.topk(frozenset({"b"}), 10) == [1, 2, 0]
    assert sorted(
        index.topk(frozenset({"b"}), 10, noise_std=0.5, rng=np.random.default_rng(0))
    ) == [
        0,
        1,
        2,
    ]


def test_query_without_a_match_returns_the_first_rows() -> None:
    index = JaccardIndex(["a", "b", "c"])
    assert index.topk(frozenset({"nothing"}), 2) == [0, 1]


def test_empty_index_returns_nothing() -> None:
    index = JaccardIndex([])
    assert index.rows == 0
    assert index.topk(frozenset({"a"}), 3) == []
    assert index.scores(frozenset({"a"})).shape == (0,)


# -- noise -----------------------------------------------------------------------------------


def test_noise_is_reproducible_with_a_seed() -> None:
    queries = random_queries(random.Random(3), 200, WORDS)
    index = JaccardIndex(queries)
    words = frozenset({"w1", "w2"})
    first = index.topk(words, 5, noise_std=0.3, rng=np.random.default_rng(42))
    again = index.topk(words, 5, noise_std=0.3, rng=np.random.default_rng(42))
    assert first == again
    picks = {
        tuple(index.topk(words, 5, noise_std=0.3, rng=np.random.default_rng(s))) for s in range(8)
    }
    assert len(picks) > 1


def test_noise_explores_empty_rows() -> None:
    index = JaccardIndex(["a", "", "", "", ""])
    rng = np.random.default_rng(0)
    picked = {index.topk(frozenset({"a"}), 1, noise_std=5.0, rng=rng)[0] for _ in range(50)}
    assert picked & {1, 2, 3, 4}


def test_tiny_noise_keeps_the_exact_order() -> None:
    index = JaccardIndex(["a", "a\nb", "b\nc\nd", "c"])  # 0.5, 1, 0.25, 0: no ties
    rng = np.random.default_rng(0)
    assert index.topk(frozenset({"a", "b"}), 3, noise_std=1e-9, rng=rng) == [1, 0, 2]


# -- cold start ------------------------------------------------------------------------------


def test_cold_start_returns_distinct_random_rows() -> None:
    index = JaccardIndex([None] * 1000)
    picks = index.topk(frozenset({"a"}), 10, rng=np.random.default_rng(7))
    assert len(set(picks)) == 10
    assert all(0 <= r < 1000 for r in picks)
    assert picks == index.topk(frozenset({"a"}), 10, rng=np.random.default_rng(7))
    assert picks != index.topk(frozenset({"a"}), 10, rng=np.random.default_rng(8))
    assert picks != list(range(10))


def test_cold_start_without_rng_takes_the_first_rows() -> None:
    index = JaccardIndex(["", "", "", ""])
    assert index.topk(frozenset({"a"}), 2) == [0, 1]
    assert sorted(index.topk(frozenset(), 9, rng=np.random.default_rng(0))) == [0, 1, 2, 3]


# -- update ----------------------------------------------------------------------------------


def test_update_changes_results() -> None:
    index = JaccardIndex(["a", "b", "c"])
    assert index.topk(frozenset({"z"}), 1) == [0]
    index.update(2, "z\nc")
    assert index.topk(frozenset({"z"}), 1) == [2]
    assert index.keywords(2) == {"z", "c"}
    np.testing.assert_allclose(index.scores(frozenset({"z"})), [0.0, 0.0, 0.5])
    index.update(2, "c")
    np.testing.assert_allclose(index.scores(frozenset({"z"})), [0.0, 0.0, 0.0])


def test_update_from_and_to_cold_start() -> None:
    index = JaccardIndex(["", ""])
    index.update(1, "a")
    assert index.topk(frozenset({"a"}), 1, rng=np.random.default_rng(0)) == [1]
    index.update(1, None)
    assert index.topk(frozenset({"a"}), 2) == [0, 1]  # cold again: first rows without rng


@pytest.mark.parametrize("seed", [0, 1])
def test_random_updates_match_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    vocab = [*WORDS, "new1", "new2"]
    queries = random_queries(rng, 80, WORDS)
    index = JaccardIndex(queries)
    for step in range(200):
        row = rng.randrange(len(queries))
        queries[row] = random_queries(rng, 1, vocab, empty=0.3)[0]
        index.update(row, queries[row])
        if step % 7 == 0:  # several updates (some to the same row) between queries
            words = frozenset(rng.sample(vocab, rng.randint(1, 3)))
            expected = brute_scores(queries, words)
            np.testing.assert_allclose(index.scores(words), expected)
            assert index.topk(words, 6) == brute_topk(expected, 6)


# -- weights ---------------------------------------------------------------------------------


def test_weights_scale_scores() -> None:
    index = JaccardIndex(["a", "a\nb", "b"])
    words = frozenset({"a"})
    assert index.topk(words, 2) == [0, 1]
    assert index.topk(words, 2, weights=np.array([0.1, 1.0, 1.0])) == [1, 0]
    assert index.topk(words, 1, weights=np.array([0.0, 0.0, 1.0])) == [0]  # all 0: index order


@pytest.mark.parametrize("weights", [np.ones(2), np.ones((3, 1)), np.array([1.0, np.nan, 1.0])])
def test_bad_weights_are_refused(weights: np.ndarray) -> None:
    index = JaccardIndex(["a", "b", "c"])
    with pytest.raises(ValueError, match="weights"):
        index.topk(frozenset({"a"}), 1, weights=weights)


# -- batch and errors ------------------------------------------------------------------------


def test_topk_batch_equals_sequential_topk() -> None:
    queries = random_queries(random.Random(5), 100, WORDS)
    index = JaccardIndex(queries)
    sets = [frozenset({"w1"}), frozenset({"w2", "w3"}), frozenset()]
    batch = index.topk_batch(sets, 4, noise_std=0.2, rng=np.random.default_rng(9))
    rng = np.random.default_rng(9)
    assert batch == [index.topk(s, 4, noise_std=0.2, rng=rng) for s in sets]


def test_bad_arguments_are_refused() -> None:
    index = JaccardIndex(["a", "b"])
    with pytest.raises(ValueError, match="k must be"):
        index.topk(frozenset({"a"}), 0)
    with pytest.raises(TypeError):
        index.topk(frozenset({"a"}), 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"rng=numpy\.random\.default_rng"):
        index.topk(frozenset({"a"}), 1, noise_std=0.1)
    with pytest.raises(ValueError, match="noise_std"):
        index.topk(frozenset({"a"}), 1, noise_std=-1.0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="k must be"):
        index.topk_batch([frozenset({"a"})], 0)
    with pytest.raises(IndexError):
        index.update(2, "a")
    with pytest.raises(TypeError, match="parse_keywords"):
        index.topk("a", 1)


# -- selection helpers -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_topk_indices_breaks_ties_by_index(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 4, size=50).astype(np.float64)  # many ties
    for k in (1, 7, 50, 60):
        assert topk_indices(scores, k).tolist() == brute_topk(scores.tolist(), k)


@pytest.mark.parametrize("k", [1, 5, 700])
def test_topk_indices_on_a_large_vector_matches_a_full_sort(k: int) -> None:
    rng = np.random.default_rng(k)
    scores = rng.integers(0, 50, size=40_000).astype(np.float64)  # large enough to prefilter
    scores[::997] = 60.0  # some top scores, tied with each other
    expected = np.lexsort((np.arange(scores.shape[0]), -scores))[:k]
    assert topk_indices(scores, k).tolist() == expected.tolist()


def test_first_rows_except_skips_excluded_rows() -> None:
    assert first_rows_except(np.array([0, 2, 3], dtype=np.int64), 3, 10).tolist() == [1, 4, 5]
    assert first_rows_except(np.array([0, 1], dtype=np.int64), 5, 3).tolist() == [2]
