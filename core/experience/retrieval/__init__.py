"""Retrieval: query keywords, and top-k rows per input (Jaccard, embeddings or both; noise, cold start)."""

from experience.retrieval.base import Retriever
from experience.retrieval.jaccard import JaccardIndex
from experience.retrieval.keywords import normalize_keywords, parse_keywords
from experience.retrieval.retrievers import RETRIEVERS, make_retriever

__all__ = ["RETRIEVERS", "JaccardIndex", "Retriever", "make_retriever", "normalize_keywords", "parse_keywords"]
