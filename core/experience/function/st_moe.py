"""st_moe: query -> retrieve experience rows -> translate with them as few-shot turns (LLM kernel)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from experience.function.base import Context, Function, Grad, object_array
from experience.function.route import Route, route_samples
from experience.function.row_rewrite import RowRewrite, SampleFeedback, rewrite_rows
from experience.kernel import Kernel, KernelTask
from experience.prompts import render
from experience.retrieval import JaccardIndex, parse_keywords
from experience.retrieval.query import generate_queries, identifiers
from experience.storage.store import Storage
from experience.tensor import SymbolicTensor
from experience.text import apply_patch, merge_keywords, unified_diff
from experience.text.answer import blocks, clean_answer, trim_blocks

QUERY, KEY, VALUE = 0, 1, 2


@dataclass
class MoeSpec:
    """Everything st_moe needs besides its tensors; `picks`/`queries` are filled by forward."""

    kernel: Kernel
    task_prompt: str
    index: JaccardIndex
    topk: int = 1
    noise_std: float = 0.0
    rng: np.random.Generator | None = None
    max_tokens: int = 256
    prior: np.ndarray | None = None
    trust: np.ndarray | None = None  # per row; retrieval multiplies by it, rows at 0 are never retrieved
    grad: str = "example"  # "example": a wrong sample becomes a row; "llm": the LLM rewrites routed rows
    capacity: str = "evict"  # policy when no row is free (see route_samples)
    baseline: float = 0.5  # loss at which a row's coefficient neither rises nor falls
    names: list[str | None] = field(default_factory=list)  # sample names, for provenance
    query_mode: str = "llm"  # "llm": one keyword call per input; "lexical": identifiers and syntax, no call
    grammar: str | None = None  # GBNF of a bare answer: the translation decodes under it (None: unconstrained)
    cut: list[bool] = field(default_factory=list)  # per input: the answer stopped at the token limit
    picks: list[list[int]] = field(default_factory=list)
    similarity: list[float] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    routes: list[int | None] = field(default_factory=list)
    row_routes: dict[int, Route] = field(default_factory=dict)
    rewrites: dict[int, RowRewrite] = field(default_factory=dict)


def translate_task(spec: MoeSpec, rows: list[tuple[str | None, str | None, str | None]], source: str) -> KernelTask:
    """Chat task: retrieved (key, value) pairs as user/assistant turns, best match last, then the source."""
    shots = tuple((k.rstrip("\n"), v.rstrip("\n")) for _, k, v in reversed(rows) if k and v)
    longest = max((len(v) for _, v in shots), default=0)
    # ~2x the longest example; under a grammar the grammar bounds the answer, so only the run's cap applies
    limit = min(spec.max_tokens, 32 + longest) if shots and spec.grammar is None else spec.max_tokens
    return KernelTask.chat(
        source.rstrip("\n"),
        system=render("translate_system", task_prompt=spec.task_prompt),
        shots=shots,
        max_tokens=limit,
        tag="translate",
        grammar=spec.grammar,
    )


def answer_shape(rows: list[tuple[str | None, str | None, str | None]]) -> tuple[int, int | None]:
    """(blocks, max lines) an answer may have: as many blocks as the longest example, twice its lines."""
    values = [v for _, _, v in rows if v]
    if not values:
        return 1, None
    return max(len(blocks(v)) for v in values), 2 * max(len(v.rstrip("\n").split("\n")) for v in values)


class StMoe(Function):
    """Mixture of experience: each input is translated with its top-k retrieved rows as examples."""

    @staticmethod
    def forward(ctx: Context, inputs: SymbolicTensor, experience: SymbolicTensor, spec: MoeSpec) -> SymbolicTensor:
        """One LLM translation per input (plus one keyword call); output coefficients are 1."""
        if inputs.dim() != 1 or experience.dim() != 2 or experience.shape[1] != 3:
            raise ValueError(
                f"st_moe needs inputs [B] and experience [N, 3], got {list(inputs.shape)}, {list(experience.shape)}"
            )
        sources = inputs.texts()
        spec.queries = generate_queries(spec.kernel, sources, mode=spec.query_mode)
        keywords = [parse_keywords(q) for q in spec.queries]
        trust = spec.trust if spec.trust is not None else np.ones(experience.shape[0])
        picks = spec.index.topk_batch(
            keywords, spec.topk, noise_std=spec.noise_std, rng=spec.rng, weights=trust, prior=spec.prior
        )
        spec.picks = [[r for r in rows if trust[r] > 0.0] for rows in picks]
        spec.similarity = [
            float(spec.index.scores(words)[rows[0]]) if rows else 0.0
            for words, rows in zip(keywords, spec.picks, strict=True)
        ]
        table = experience.texts()
        rows = [[(table[3 * r], table[3 * r + 1], table[3 * r + 2]) for r in picks] for picks in spec.picks]
        tasks = [translate_task(spec, r, s or "") for r, s in zip(rows, sources, strict=True)]
        asked = [t for t, s in zip(tasks, sources, strict=True) if s]
        answers = spec.kernel.run(asked)
        done = iter(answers)
        outputs = [
            trim_blocks(next(done).text, *answer_shape(r)) if s else None for r, s in zip(rows, sources, strict=True)
        ]
        cut = iter([a.completion_tokens >= t.max_tokens for a, t in zip(answers, asked, strict=True)])
        spec.cut = [next(cut) if s else False for s in sources]
        ctx.save(spec=spec, sources=sources, outputs=outputs)
        coeff = torch.ones(len(sources), dtype=experience.coeff.dtype)
        return SymbolicTensor(coeff, Storage(outputs, (len(outputs),)))

    @staticmethod
    def backward(ctx: Context, grad: Grad) -> tuple[Grad | None, Grad | None]:
        """Numeric: each used row moves by its samples' loss against the baseline. Symbolic: routed rows' diffs."""
        spec: MoeSpec = ctx.saved["spec"]
        sources, outputs = ctx.saved["sources"], ctx.saved["outputs"]
        experience = ctx.inputs[1]
        g = grad.coeff if grad.coeff is not None else torch.zeros(len(sources))
        coeff = row_coeff_grad(spec, g, experience.shape[0], experience.coeff.dtype)
        diffs = grad.diff_list()
        better = [apply_patch(o or "", d).text if d else None for o, d in zip(outputs, diffs, strict=True)]
        texts = experience.texts()
        trust = spec.trust if spec.trust is not None else np.ones(experience.shape[0])
        spec.row_routes, spec.routes = route_samples(
            keys=[texts[3 * r + KEY] for r in range(experience.shape[0])],
            trust=trust,
            sources=sources,
            picks=spec.picks,
            similarity=spec.similarity,
            live=[b is not None for b in better],
            refine=spec.grad == "llm",
            capacity=spec.capacity,
            rng=spec.rng,
        )
        wanted = (
            llm_rows(spec, texts, sources, outputs, better, diffs)
            if spec.grad == "llm"
            else example_rows(spec, texts, sources, better)
        )
        exp_diffs = np.full((experience.shape[0], 3), None, dtype=object)
        for row, new_texts in wanted.items():
            for col, new in enumerate(new_texts):
                exp_diffs[row, col] = unified_diff(texts[3 * row + col] or "", new or "")
        input_grad = None
        if ctx.needs_input_grad[0]:
            input_grad = Grad(
                g.clone(), object_array(improve_inputs(spec.kernel, sources, outputs, better), (len(sources),))
            )
        return (input_grad, Grad(coeff, exp_diffs))


def row_coeff_grad(spec: MoeSpec, g: torch.Tensor, rows: int, dtype: torch.dtype) -> torch.Tensor:
    """d(loss)/d(row coefficient): the mean over the samples that used a row of (loss - baseline) / k.

    `g` is the output grad of a mean-reduced loss, so loss_i = g_i * B. Rows that helped (loss below the
    baseline) get a negative grad and rise under StSGD; rows that hurt fall and, at 0, are free.
    """
    coeff = torch.zeros(rows, 3, dtype=dtype)
    users = torch.zeros(rows, dtype=dtype)
    batch = len(spec.picks)
    for i, picks in enumerate(spec.picks):
        loss = float(g[i]) * batch
        for r in picks:
            coeff[r, KEY] += (loss - spec.baseline) / spec.topk
            users[r] += 1
    used = users > 0
    coeff[used, KEY] /= users[used]
    coeff[used, VALUE] = coeff[used, KEY]
    return coeff


def example_rows(
    spec: MoeSpec, texts: list[str | None], sources: list[str | None], better: list[str | None]
) -> dict[int, tuple[str | None, str | None, str | None]]:
    """Example mode: a routed row becomes its sample's (keywords, source, target); later samples append."""
    wanted: dict[int, tuple[str | None, str | None, str | None]] = {}
    for row, route in spec.row_routes.items():
        current = (texts[3 * row], texts[3 * row + KEY], texts[3 * row + VALUE])
        for n, i in enumerate(route.samples):
            example = (spec.queries[i], sources[i], better[i])
            if n == 0 and route.action != "merge":
                current = example
            else:
                current = (
                    merge_keywords([current[0], example[0]]),
                    join_examples(current[1], example[1]),
                    join_examples(current[2], example[2]),
                )
        wanted[row] = current
    return wanted


def join_examples(first: str | None, second: str | None) -> str | None:
    """Two examples in one entry, separated by a blank line (a merged row shows both)."""
    if not first:
        return second
    if not second:
        return first
    return first.rstrip("\n") + "\n\n" + second


def llm_rows(
    spec: MoeSpec,
    texts: list[str | None],
    sources: list[str | None],
    outputs: list[str | None],
    better: list[str | None],
    diffs: list[str | None],
) -> dict[int, tuple[str | None, str | None, str | None]]:
    """LLM mode: per routed row, two calls rewrite its key and value from every routed sample's feedback."""
    rows: dict[int, tuple[str | None, str | None]] = {}
    feedback: dict[int, list[SampleFeedback]] = {}
    for row, route in spec.row_routes.items():
        fresh = route.action in ("new", "evict")
        rows[row] = (None, None) if fresh else (texts[3 * row + KEY], texts[3 * row + VALUE])
        feedback[row] = [
            SampleFeedback(
                name=spec.names[i] if i < len(spec.names) else None,
                source=sources[i] or "",
                output=outputs[i] or "",
                expected=better[i] or "",
                diff=diffs[i] or "",
            )
            for i in route.samples
        ]
    spec.rewrites = rewrite_rows(
        spec.kernel, spec.task_prompt, rows, feedback, max_tokens=spec.max_tokens, chain=True
    )  # chain: the value translates the new key, so a row stays a consistent pair
    wanted: dict[int, tuple[str | None, str | None, str | None]] = {}
    for row, rewrite in spec.rewrites.items():
        route = spec.row_routes[row]
        query = merge_keywords([spec.queries[i] for i in route.samples] + ["\n".join(identifiers(rewrite.key))])
        if route.action not in ("new", "evict"):
            query = merge_keywords([texts[3 * row], query])
        wanted[row] = (query, rewrite.key, rewrite.value)
    return wanted


def improve_inputs(
    kernel: Kernel, sources: list[str | None], outputs: list[str | None], better: list[str | None]
) -> list[str | None]:
    """Symbolic grad for the inputs: the LLM rewrites each source whose translation should change."""
    todo = [i for i, b in enumerate(better) if b is not None and sources[i]]
    tasks = [
        KernelTask.chat(
            render("improve_input_user", source=sources[i] or "", output=outputs[i] or "", better=better[i] or ""),
            system=render("improve_input_system"),
            max_tokens=256,
            tag="improve-input",
        )
        for i in todo
    ]
    diffs: list[str | None] = [None] * len(sources)
    for i, reply in zip(todo, kernel.run(tasks), strict=True):
        diffs[i] = unified_diff(sources[i] or "", clean_answer(reply.text))
    return diffs


st_moe = StMoe.apply
