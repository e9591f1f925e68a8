"""StMoe and NaiveModel: modules around st_moe that own the experience and its retrieval index."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import torch

from experience.function.st_moe import MoeSpec, st_moe
from experience.kernel import Kernel
from experience.nn.module import Module
from experience.retrieval import JaccardIndex
from experience.retrieval.base import Retriever
from experience.retrieval.query import identifiers
from experience.retrieval.retrievers import DEFAULT_RETRIEVER, make_retriever
from experience.tensor import SymbolicTensor

FILLED_PRIOR = 1e-3  # breaks Jaccard ties toward rows that hold an example


def index_queries(table: list[str | None]) -> list[str]:
    """Keywords indexed per row: the query column, or the key's identifiers when a person left it empty."""
    queries = []
    for row in range(0, len(table), 3):
        query, key = table[row], table[row + 1]
        queries.append(query if query and query.strip() else "\n".join(identifiers(key or "")))
    return queries


class StMoe(Module):
    """Translate a batch of inputs [B] using an experience [N, 3] (query, key, value) as retrieved examples."""

    def __init__(
        self,
        experience: SymbolicTensor,
        kernel: Kernel,
        *,
        task_prompt: str,
        topk: int = 1,
        noise_std: float = 0.05,
        seed: int = 0,
        max_tokens: int = 256,
        grad: str = "example",
        capacity: str = "evict",
        baseline: float = 0.5,
        query: str = "llm",
        retriever: str | Retriever = DEFAULT_RETRIEVER,
        retriever_cache: Path | None = None,
        grammar: str | None = None,
    ) -> None:
        super().__init__()
        if grad not in ("example", "llm"):
            raise ValueError(f"unknown gradient mode {grad!r}; use 'example' or 'llm'")
        if experience.dim() != 2 or experience.shape[1] != 3:
            raise ValueError(f"StMoe needs an [N, 3] experience, got {list(experience.shape)}")
        if topk < 1:
            raise ValueError(f"topk must be >= 1, got {topk}")
        self.experience = experience
        self.kernel = kernel
        self.task_prompt = task_prompt
        self.topk = topk
        self.noise_std = noise_std
        self.max_tokens = max_tokens
        self.grad = grad
        self.capacity = capacity
        self.baseline = baseline
        self.query = query
        self.grammar = grammar  # GBNF the translations decode under (None: unconstrained)
        self.rng = np.random.default_rng(seed)
        self.last: MoeSpec | None = None
        # `retriever`: jaccard | embedding | hybrid, or a Retriever; `retriever_cache`: a folder for its cache
        self.retriever: Retriever = (
            make_retriever(retriever, cache_dir=retriever_cache) if isinstance(retriever, str) else retriever
        )
        self._indexed_version: tuple[int, int] = (0, -1)

    def reseed(self, *entropy: int) -> None:
        """Reset exploration noise from integers (e.g. seed, step) so a resumed run draws the same."""
        self.rng = np.random.default_rng(list(entropy))

    def index(self) -> Retriever:
        """The retriever, synced (changed rows only) whenever the experience text changed."""
        version = (id(self.experience.storage), self.experience.storage.version)  # a swapped storage counts too
        if version != self._indexed_version:
            table = self.experience.texts()
            self.retriever.sync(index_queries(table), table[1::3])
            self._indexed_version = version
        return self.retriever

    def trust(self) -> np.ndarray:
        """Per row: its value coefficient where the row holds text, else 0 (a row at 0 is never retrieved)."""
        table = self.experience.texts()
        filled = np.array([bool(table[r + 1] or table[r + 2]) for r in range(0, len(table), 3)])
        values = self.experience.coeff.detach()[:, 2].to(torch.float64).numpy()
        return np.where(filled, np.clip(values, 0.0, None), 0.0)

    def forward(self, inputs: SymbolicTensor, names: list[str | None] | None = None) -> SymbolicTensor:
        """Outputs [B]; `self.last` keeps the queries, retrieved rows and (after backward) routes of this call."""
        trust = self.trust()
        spec = MoeSpec(
            kernel=self.kernel,
            task_prompt=self.task_prompt,
            # the retriever with this batch's sources (embeddings compare sources, Jaccard keywords)
            index=cast(JaccardIndex, self.index().bind(inputs.texts())),
            topk=self.topk,
            noise_std=self.noise_std if self.training else 0.0,
            rng=self.rng if self.training else None,
            max_tokens=self.max_tokens,
            prior=trust * FILLED_PRIOR,
            trust=trust,
            grad=self.grad,
            capacity=self.capacity,
            baseline=self.baseline,
            query_mode=self.query,
            grammar=self.grammar,
            names=list(names) if names is not None else [],
        )
        out: SymbolicTensor = st_moe(inputs, self.experience, spec)
        self.last = spec
        return out


class NaiveModel(Module):
    """The baseline symbolic transform model: one StMoe layer; load an experience, then call it."""

    def __init__(
        self,
        kernel: Kernel,
        *,
        task_prompt: str,
        topk: int = 1,
        seed: int = 0,
        noise_std: float = 0.05,
        max_tokens: int = 256,
    ) -> None:
        super().__init__()
        self.kernel = kernel
        self.task_prompt = task_prompt
        self.topk = topk
        self.seed = seed
        self.noise_std = noise_std
        self.max_tokens = max_tokens
        self.moe: StMoe | None = None

    def load_experience(self, experience: SymbolicTensor) -> None:
        """Attach the experience this model learns into."""
        self.moe = StMoe(
            experience,
            self.kernel,
            task_prompt=self.task_prompt,
            topk=self.topk,
            seed=self.seed,
            noise_std=self.noise_std,
            max_tokens=self.max_tokens,
        )

    def forward(self, inputs: SymbolicTensor) -> SymbolicTensor:
        """Translate the inputs."""
        if self.moe is None:
            raise RuntimeError("NaiveModel has no experience: call model.load_experience(experience) first")
        out: SymbolicTensor = self.moe(inputs)
        return out
