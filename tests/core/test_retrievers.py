"""Retrievers (jaccard / embedding / hybrid): patches, FAISS vs exact, caches, fusion, trust, offline model."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
import torch

import experience as ex
from doubles import ScriptedBackend
from experience.kernel import Kernel
from experience.nn import StMoe
from experience.retrieval import JaccardIndex, parse_keywords
from experience.retrieval.base import Retriever, calibrate
from experience.retrieval.embedder import Embedder, load_model, read_cache, text_hash
from experience.retrieval.embedding_retriever import CACHE_FILE, EmbeddingRetriever
from experience.retrieval.hybrid import HybridRetriever, competition_ranks, rrf
from experience.retrieval.jaccard_retriever import JaccardRetriever
from experience.retrieval.retrievers import RETRIEVERS, make_retriever
from experience.retrieval.vector_index import VectorIndex
from learning_fixtures import copying_translator

ADD = "def add(a, b):\n    return a + b\n"
PLUS = "def plus(x, y):\n    return x + y\n"
STACK = "class Stack:\n    def push(self, item):\n        self.items.append(item)\n"
LOOP = "for i in range(10):\n    print(i)\n"
GREET = "def greet(name):\n    return f'hello {name}'\n"


class FakeModel:
    """A sentence model double: fixed unit vectors for named texts, hash-seeded random ones otherwise."""

    def __init__(self, fixed: dict[str, list[float]] | None = None, dim: int = 8) -> None:
        self.fixed = {t: np.asarray(v, dtype=np.float32) for t, v in (fixed or {}).items()}
        self.dim = dim
        self.calls = 0

    def encode(self, texts: list[str], **_: Any) -> np.ndarray:
        """Unit vectors, one per text."""
        self.calls += len(texts)
        out = []
        for text in texts:
            vec = self.fixed.get(text)
            if vec is None:
                seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
                vec = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            out.append(vec / np.linalg.norm(vec))
        return np.stack(out)


def fake_embedder(fixed: dict[str, list[float]] | None = None) -> Embedder:
    """An Embedder over FakeModel (dimension 8)."""
    embedder = Embedder(model=FakeModel(fixed))
    embedder.dim = 8
    return embedder


LOADED_WITH: dict[str, str | None] = {}


@pytest.fixture(scope="session")
def minilm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The real MiniLM, loaded once, with every socket connection refused and an empty HF cache."""
    calls: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        calls.append(args)
        raise OSError("network access is disabled while loading the embedding model")

    home = str(tmp_path_factory.mktemp("hf-home"))
    with (
        mock.patch.object(socket.socket, "connect", refuse),
        mock.patch("socket.create_connection", refuse),
        mock.patch.dict(os.environ, {"HF_HOME": home}),
    ):
        model = load_model()
        model.encode(["warm-up"])
        LOADED_WITH["HF_HUB_OFFLINE"] = os.environ.get("HF_HUB_OFFLINE")
        LOADED_WITH["TRANSFORMERS_OFFLINE"] = os.environ.get("TRANSFORMERS_OFFLINE")
    yield model
    assert not calls, f"loading the model tried the network: {calls}"


def test_model_loads_offline_from_the_wheel(minilm: Any) -> None:
    assert LOADED_WITH == {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    vectors = Embedder(model=minilm).embed([ADD, PLUS, LOOP, ""])
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5) and not vectors[3].any()
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2  # add ~ plus, not the loop


def test_embedding_index_follows_patches_and_hand_edits(minilm: Any, tmp_path: Path) -> None:
    experience = ex.Experience.empty(rows=4, root=tmp_path, source_ext="py", target_ext="viba")
    for row, key in enumerate([STACK, LOOP, GREET]):
        experience.set_text((row, 1), key)
        experience.set_text((row, 2), f"value {row}")
    with torch.no_grad():
        experience.coeff[:3] = 1.0
    embedder = Embedder(model=minilm)
    retriever = EmbeddingRetriever(embedder)
    model = StMoe(experience, Kernel(ScriptedBackend(copying_translator)), task_prompt="T", retriever=retriever)
    trust = model.trust()
    assert model.index().topk_batch([frozenset()], 1, weights=trust, sources=[PLUS]) == [[2]]  # greet: a def
    before = embedder.embedded
    experience.set_text((1, 1), ADD)  # a patch rewrites row 1's key
    assert model.index().topk_batch([frozenset()], 1, weights=trust, sources=[PLUS]) == [[1]]
    assert embedder.embedded - before == 1, "only the changed row is re-embedded"
    key_file = next((tmp_path / "experience" / "0001").glob("key.*"))
    key_file.write_text(LOOP, encoding="utf-8")  # a hand edit on disk, picked up by reload
    assert experience.storage.reload_all()
    assert model.index().topk_batch([frozenset()], 1, weights=trust, sources=[PLUS]) == [[2]]
    assert embedder.embedded - before == 1, "the loop text was embedded before: a cache hit"


def test_stmoe_forward_with_embedding_retriever_fills_picks_and_similarity(minilm: Any, tmp_path: Path) -> None:
    experience = ex.Experience.empty(rows=3, root=tmp_path, source_ext="py", target_ext="viba")
    experience.set_text((0, 1), ADD)
    experience.set_text((0, 2), "add :=\n  <- $a int\n")
    experience.set_text((1, 1), LOOP)
    experience.set_text((1, 2), "loop\n")
    with torch.no_grad():
        experience.coeff[:2] = 1.0
    model = StMoe(
        experience, Kernel(ScriptedBackend(copying_translator)), task_prompt="T", noise_std=0.0, retriever="embedding"
    )
    model.eval()
    model(ex.tensor([PLUS]))
    assert model.last is not None and model.last.picks == [[0]]
    expected = float(model.retriever.similarity([], [0], source=PLUS)[0])  # calibrated cosine
    assert model.last.similarity[0] == pytest.approx(expected)
    assert 0.25 < expected <= 1.0


def clustered(rng: np.random.Generator, count: int, centres: np.ndarray) -> np.ndarray:
    """Unit vectors around random centres (a row's cosine to its centre ~0.7)."""
    x = centres[rng.integers(0, centres.shape[0], count)]
    x = x + rng.standard_normal((count, centres.shape[1])).astype(np.float32) / np.sqrt(centres.shape[1])
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_approximate_index_agrees_with_exact_search_and_follows_updates() -> None:
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((60, 64)).astype(np.float32)
    vectors, queries = clustered(rng, 3000, centres), clustered(rng, 100, centres)
    index = VectorIndex(64, exact_limit=1000)
    index.build(vectors)
    assert index.describe()["kind"] == "hnsw" and not index.describe()["exact"]
    truth = np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :3]
    _, ids = index.search(queries, 3)
    recall = np.mean([len(set(a) & set(b)) / 3 for a, b in zip(ids.tolist(), truth.tolist(), strict=True)])
    assert recall >= 0.95
    changed = np.array([5, 17, 400], dtype=np.int64)
    vectors = vectors.copy()
    vectors[changed] = -vectors[changed]  # the rows now point the other way
    index.update(vectors, changed)
    assert index.builds == 1 and index.pending == {5, 17, 400}
    for row in changed.tolist():
        _, top = index.search(vectors[row][None], 1)
        assert top[0, 0] == row
        _, top = index.search(-vectors[row][None], 50)
        assert row not in top[0].tolist(), "the stale vector is never returned"
    _, top = index.search(vectors[5][None], 3, allowed=np.arange(3000) != 5)
    assert 5 not in top[0].tolist()
    many = rng.choice(3000, size=200, replace=False)
    index.update(vectors, many)
    assert index.builds == 2 and not index.pending  # past 5% changed: rebuilt


def test_small_index_is_exact() -> None:
    index = VectorIndex(8)
    vectors = fake_embedder().embed([f"t{i}" for i in range(50)])
    index.build(vectors)
    assert index.describe()["kind"] == "flat" and index.describe()["exact"]
    sims, ids = index.search(vectors[:5], 50)
    assert ids[:, 0].tolist() == [0, 1, 2, 3, 4]
    assert np.allclose(sims, np.sort(vectors[:5] @ vectors.T, axis=1)[:, ::-1], atol=1e-6)


def cached_retriever(tmp_path: Path, model: FakeModel) -> EmbeddingRetriever:
    """An embedding retriever over `model` with its cache in tmp_path, synced to five rows."""
    embedder = Embedder(model=model)
    embedder.dim = 8
    retriever = EmbeddingRetriever(embedder, cache_dir=tmp_path / ".cache")
    retriever.sync([None] * 5, [f"key {i}" for i in range(5)])
    return retriever


def test_index_cache_missing_corrupt_stale_or_tampered_is_rebuilt_never_trusted(tmp_path: Path) -> None:
    first = cached_retriever(tmp_path, FakeModel())
    path = tmp_path / ".cache" / CACHE_FILE
    assert first.embedder.model.calls == 5 and len(read_cache(path, first.embedder.name)) == 5
    again = cached_retriever(tmp_path, FakeModel())
    assert again.embedder.model.calls <= 2, "a good cache is used (after a spot check)"
    assert np.array_equal(again.vectors, first.vectors)
    path.write_bytes(b"PK\x03\x04 not a zip at all")
    corrupt = cached_retriever(tmp_path, FakeModel())
    assert corrupt.embedder.model.calls == 5 and len(read_cache(path, corrupt.embedder.name)) == 5
    with np.load(path) as data:
        fields = dict(data)
    np.savez(path, **{**fields, "model": np.array("another-model")})
    stale = cached_retriever(tmp_path, FakeModel())
    assert stale.embedder.model.calls == 5
    with np.load(path) as data:
        fields = dict(data)
    np.savez(path, **{**fields, "vectors": fields["vectors"][::-1].copy()})  # well-formed, wrong vectors
    tampered = cached_retriever(tmp_path, FakeModel())
    assert tampered.embedder.model.calls >= 5
    assert np.array_equal(tampered.vectors, first.vectors)
    assert read_cache(tmp_path / "missing.npz", first.embedder.name) == {}


def test_rrf_and_competition_ranks() -> None:
    assert competition_ranks(np.array([0.5, 0.9, 0.5, 0.1])).tolist() == [2, 1, 2, 4]
    a, b, c = 10, 11, 12
    rows, fused = rrf([(np.array([a, b, c]), np.array([1, 2, 3])), (np.array([b, c, a]), np.array([1, 2, 3]))])
    order = rows[np.argsort(-fused, kind="stable")].tolist()
    assert order == [b, a, c]
    assert fused.max() < 1.0
    rows, fused = rrf([(np.array([a]), np.array([1])), (np.array([a]), np.array([1]))])
    assert fused.tolist() == [pytest.approx(1.0)]


def test_hybrid_prefers_a_row_both_rankings_like() -> None:
    keys = ["by keywords", "by meaning", "by both", "by neither"]
    queries = ["alpha\nbeta", "zeta", "alpha", "omega"]
    fixed = {"by keywords": [0, 1, 0], "by meaning": [1, 0, 0], "by both": [0.9, 0.44, 0], "by neither": [0.5, 0, 0.87]}
    fixed["the source"] = [1, 0, 0]
    embedder = Embedder(model=FakeModel(fixed))
    embedder.dim = 3
    hybrid = HybridRetriever(embedder)
    hybrid.sync(queries, keys)
    words = [parse_keywords("alpha\nbeta")]
    assert hybrid.jaccard.topk_batch(words, 1) == [[0]]
    assert hybrid.embedding.topk_batch(words, 1, sources=["the source"]) == [[1]]
    assert hybrid.topk_batch(words, 3, sources=["the source"]) == [[2, 0, 1]]
    sim = hybrid.similarity(words[0], [2], source="the source")
    assert sim[0] == pytest.approx((0.5 + float(calibrate(fixed["by both"][0] / np.hypot(0.9, 0.44)))) / 2)


@pytest.mark.parametrize("name", RETRIEVERS)
@pytest.mark.parametrize("mmr", [None, 0.5])
def test_a_row_at_trust_zero_is_never_retrieved(name: str, mmr: float | None) -> None:
    keys = [ADD, PLUS, STACK, LOOP, GREET]
    queries = ["add\nsum", "add\nplus", "stack", "loop", "greet"]
    retriever = build(name, mmr)
    retriever.sync(queries, keys)
    words = [parse_keywords("add\nplus")] * 3
    best = retriever.topk_batch(words, 1, sources=[PLUS] * 3)[0][0]
    weights = np.ones(5)
    weights[best] = 0.0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        picks = retriever.topk_batch(
            words, 3, noise_std=0.3, rng=rng, weights=weights, prior=weights * 1e-3, sources=[PLUS] * 3
        )
        assert all(best not in rows for rows in picks)
        # jaccard keeps JaccardIndex's picks and drops the untrusted one; the others pick among trusted rows
        assert all(len(rows) == 3 if name != "jaccard" else 2 <= len(rows) <= 3 for rows in picks)
    assert retriever.topk_batch(words, 2, weights=np.zeros(5), sources=[PLUS] * 3) == [[], [], []]


def build(name: str, mmr: float | None = None) -> Retriever:
    """A retriever of that kind over the fake model (jaccard needs none)."""
    if name == "jaccard":
        return make_retriever("jaccard", mmr=mmr)
    return make_retriever(name, mmr=mmr, embedder=fake_embedder())


def test_mmr_skips_a_near_duplicate() -> None:
    fixed = {"a": [1, 0, 0], "a again": [1, 0.01, 0], "b": [0.8, 0, 0.6], "query": [1, 0, 0.05]}
    embedder = Embedder(model=FakeModel(fixed))
    embedder.dim = 3
    plain, diverse = EmbeddingRetriever(embedder), EmbeddingRetriever(embedder, mmr=0.5)
    for retriever in (plain, diverse):
        retriever.sync([None] * 3, ["a", "a again", "b"])
    assert plain.topk_batch([frozenset()], 2, sources=["query"]) == [[0, 1]]
    assert diverse.topk_batch([frozenset()], 2, sources=["query"]) == [[0, 2]]


def test_jaccard_retriever_syncs_incrementally_like_a_fresh_index() -> None:
    rng = np.random.default_rng(1)
    vocab = [f"w{i}" for i in range(15)]
    queries = ["\n".join(rng.choice(vocab, size=3)) for _ in range(40)]
    retriever = JaccardRetriever(queries)
    for _ in range(30):
        queries[int(rng.integers(40))] = "\n".join(rng.choice(vocab, size=int(rng.integers(0, 5))))
        retriever.sync(queries, [None] * 40)
    fresh = JaccardIndex(queries)
    asks = [frozenset(rng.choice(vocab, size=3).tolist()) for _ in range(20)]
    weights = rng.random(40) * (rng.random(40) > 0.3)
    got = retriever.topk_batch(asks, 4, weights=weights, noise_std=0.1, rng=np.random.default_rng(2))
    want = fresh.topk_batch(asks, 4, weights=weights, noise_std=0.1, rng=np.random.default_rng(2))
    assert got == [[r for r in rows if weights[r] > 0] for rows in want]
    assert retriever.rebuilds == 1 and retriever.updates > 0


def test_bound_retriever_scores_the_picked_rows_of_each_input() -> None:
    retriever = build("embedding")
    retriever.sync(["add", "stack", "loop"], [ADD, STACK, LOOP])
    bound = retriever.bind([STACK, LOOP])
    words = [parse_keywords("x"), parse_keywords("y")]
    picks = bound.topk_batch(words, 1)
    assert picks == [[1], [2]]
    for i, rows in enumerate(picks):
        scores = bound.scores(words[i])
        assert scores[rows[0]] == pytest.approx(1.0) and scores.sum() == pytest.approx(1.0)


def test_choosing_a_retriever() -> None:
    from experience.train.options import RunOptions
    from experience.train.run_dir import NEW_RUN_RETRIEVER, RunConfig
    from experience_daemon.cli import build_parser
    from experience_daemon.validation import train_problems

    assert isinstance(make_retriever(), JaccardRetriever)
    with pytest.raises(ValueError, match="unknown retriever"):
        make_retriever("bm25")
    assert RunConfig("d", "py", "viba", "t").retriever == "jaccard"  # what run.json files without the key meant
    assert build_parser().parse_args(["train", "--run-dir", "r"]).retriever == NEW_RUN_RETRIEVER == "hybrid"
    assert build_parser().parse_args(["train", "--run-dir", "r", "--retriever", "jaccard"]).retriever == "jaccard"
    assert any("retriever" in p for p in train_problems({"retriever": "bm25"}, RunOptions()))
    assert "embedding" in make_retriever("embedding", embedder=fake_embedder()).describe()["retriever"]
    assert text_hash("a") != text_hash("b") and len(text_hash("a")) == 32
