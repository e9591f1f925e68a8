"""Retrieval: query keywords and Jaccard top-k over the experience (noise, cold start)."""

from experience.retrieval.jaccard import JaccardIndex
from experience.retrieval.keywords import normalize_keywords, parse_keywords

__all__ = ["JaccardIndex", "normalize_keywords", "parse_keywords"]
