"""st_moe: query -> retrieve experience rows -> translate with them as few-shot turns (LLM kernel)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from experience.function.base import Context, Function, Grad, object_array
from experience.kernel import Kernel, KernelTask
from experience.prompts import render
from experience.retrieval import JaccardIndex, parse_keywords
from experience.retrieval.query import generate_queries
from experience.storage.store import Storage
from experience.tensor import SymbolicTensor
from experience.text import apply_patch, unified_diff
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
    picks: list[list[int]] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    routes: list[int | None] = field(default_factory=list)


def translate_task(spec: MoeSpec, rows: list[tuple[str | None, str | None, str | None]], source: str) -> KernelTask:
    """Chat task: retrieved (key, value) pairs as user/assistant turns, best match last, then the source."""
    shots = tuple((k.rstrip("\n"), v.rstrip("\n")) for _, k, v in reversed(rows) if k and v)
    longest = max((len(v) for _, v in shots), default=0)
    limit = min(spec.max_tokens, 32 + longest) if shots else spec.max_tokens  # ~2x the longest example
    return KernelTask.chat(
        source.rstrip("\n"),
        system=render("translate_system", task_prompt=spec.task_prompt),
        shots=shots,
        max_tokens=limit,
        tag="translate",
    )


def route_rows(
    experience: SymbolicTensor,
    sources: list[str | None],
    picks: list[list[int]],
    live: list[bool],
    rng: np.random.Generator | None,
) -> list[int | None]:
    """Which experience row learns from each sample: its own row, else an empty pick, else a free row."""
    texts = experience.texts()
    keys = [texts[3 * r + KEY] for r in range(experience.shape[0])]
    empty = [r for r in range(len(keys)) if not keys[r] and not texts[3 * r + VALUE]]
    claimed: set[int] = set()
    routes: list[int | None] = []
    for source, rows, want in zip(sources, picks, live, strict=True):
        if not want or not source:
            routes.append(None)
            continue
        own = next((r for r, k in enumerate(keys) if k and k.rstrip() == source.rstrip()), None)
        free = [r for r in empty if r not in claimed]
        if own is not None:
            row = own
        elif any(r in free for r in rows):
            row = next(r for r in rows if r in free)
        elif free:
            row = int(free[int(rng.integers(len(free)))]) if rng is not None else free[0]
        else:
            row = rows[0]
        claimed.add(row)
        routes.append(row)
    return routes


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
        spec.queries = generate_queries(spec.kernel, sources)
        spec.picks = spec.index.topk_batch(
            [parse_keywords(q) for q in spec.queries],
            spec.topk,
            noise_std=spec.noise_std,
            rng=spec.rng,
            prior=spec.prior,
        )
        table = experience.texts()
        rows = [[(table[3 * r], table[3 * r + 1], table[3 * r + 2]) for r in picks] for picks in spec.picks]
        tasks = [translate_task(spec, r, s or "") for r, s in zip(rows, sources, strict=True)]
        done = iter(spec.kernel.run([t for t, s in zip(tasks, sources, strict=True) if s]))
        outputs = [
            trim_blocks(next(done).text, *answer_shape(r)) if s else None for r, s in zip(rows, sources, strict=True)
        ]
        ctx.save(spec=spec, sources=sources, outputs=outputs)
        coeff = torch.ones(len(sources), dtype=experience.coeff.dtype)
        return SymbolicTensor(coeff, Storage(outputs, (len(outputs),)))

    @staticmethod
    def backward(ctx: Context, grad: Grad) -> tuple[Grad | None, Grad | None]:
        """Numeric: each used row's key/value gets the loss of its outputs / k. Symbolic: see route_rows."""
        spec: MoeSpec = ctx.saved["spec"]
        sources, outputs = ctx.saved["sources"], ctx.saved["outputs"]
        experience = ctx.inputs[1]
        rows = experience.shape[0]
        coeff = torch.zeros(rows, 3, dtype=experience.coeff.dtype)
        g = grad.coeff if grad.coeff is not None else torch.zeros(len(sources))
        for i, picks in enumerate(spec.picks):
            for r in picks:
                coeff[r, KEY] += g[i] / len(picks)
                coeff[r, VALUE] += g[i] / len(picks)
        diffs = grad.diff_list()
        better = [apply_patch(o or "", d).text if d else None for o, d in zip(outputs, diffs, strict=True)]
        live = [b is not None for b in better]
        routes = route_rows(experience, sources, spec.picks, live, spec.rng)
        spec.routes = routes
        texts = experience.texts()
        exp_diffs = np.full((rows, 3), None, dtype=object)
        for i, row in enumerate(routes):
            if row is None:
                continue
            wanted = (spec.queries[i], sources[i], better[i])
            for col, new in enumerate(wanted):
                exp_diffs[row, col] = unified_diff(texts[3 * row + col] or "", new or "")
        input_grad = None
        if ctx.needs_input_grad[0]:
            input_grad = Grad(
                g.clone(), object_array(improve_inputs(spec.kernel, sources, outputs, better), (len(sources),))
            )
        return (input_grad, Grad(coeff, exp_diffs))


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
