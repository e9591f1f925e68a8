"""Choose a retriever by name (`--retriever jaccard|embedding|hybrid`); heavy modules load only when needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from experience.retrieval.base import Retriever

__all__ = ["DEFAULT_RETRIEVER", "RETRIEVERS", "make_retriever"]

RETRIEVERS = ("jaccard", "embedding", "hybrid")
DEFAULT_RETRIEVER = "jaccard"


def make_retriever(
    name: str = DEFAULT_RETRIEVER, *, cache_dir: Path | None = None, mmr: float | None = None, **options: Any
) -> Retriever:
    """A fresh retriever: `jaccard` (keywords), `embedding` (MiniLM + FAISS) or `hybrid` (rank fusion of both).

    `cache_dir` holds the optional embedding cache (never required); `mmr` is the MMR lambda (None: off);
    other options go to the embedding index (exact_limit, ef_search, embedder).
    """
    if name == "jaccard":
        from experience.retrieval.jaccard_retriever import JaccardRetriever

        return JaccardRetriever(mmr=mmr)
    if name == "embedding":
        from experience.retrieval.embedding_retriever import EmbeddingRetriever

        return EmbeddingRetriever(cache_dir=cache_dir, mmr=mmr, **options)
    if name == "hybrid":
        from experience.retrieval.hybrid import HybridRetriever

        return HybridRetriever(cache_dir=cache_dir, mmr=mmr, **options)
    raise ValueError(f"unknown retriever {name!r}; use one of {', '.join(RETRIEVERS)}")
