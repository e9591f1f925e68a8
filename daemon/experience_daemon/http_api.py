"""`experience serve`: an OpenAI-compatible HTTP endpoint over one trained run (Starlette + uvicorn).

GET /v1/models lists the run (by its folder name), POST /v1/chat/completions answers the last user message
with the run's experience (stream: true sends server-sent events), GET /health says which step is served.
Answers come from the same RunModel as `experience infer` and the daemon's `experience/infer`; the run is
opened read-only and reloaded when it changes on disk, so it may keep training while it is served. Each
completion carries an extra `experience` field (the rows used, the step) that OpenAI clients ignore.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from anyio import to_thread
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from experience.train.infer import Answer, RunModel
from experience_daemon.inference import Inference

STREAM_CHUNK = 16  # characters per streamed delta (the answer is computed whole, then streamed)


class BadRequest(Exception):
    """A request the server refuses: HTTP status, message, OpenAI error type and the parameter at fault."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", param: str | None = None):
        super().__init__(message)
        self.status, self.kind, self.param = status, kind, param

    def response(self) -> JSONResponse:
        """The OpenAI-shaped error body."""
        body = {"error": {"message": str(self), "type": self.kind, "param": self.param, "code": None}}
        return JSONResponse(body, status_code=self.status)


class Gate:
    """At most `limit` answers at once; past `limit + queue` waiting requests the server answers 503."""

    def __init__(self, limit: int, queue: int) -> None:
        self.semaphore = asyncio.Semaphore(limit)
        self.queue = queue
        self.waiting = 0

    async def __aenter__(self) -> None:
        if self.semaphore.locked() and self.waiting >= self.queue:
            raise BadRequest(503, "the server is busy: retry later or raise --concurrency", "server_error")
        self.waiting += 1
        try:
            await self.semaphore.acquire()
        finally:
            self.waiting -= 1

    async def __aexit__(self, *_: object) -> None:
        self.semaphore.release()


def last_user_text(body: Any) -> str:
    """The content of the last user message of a chat request (BadRequest naming what is wrong)."""
    if not isinstance(body, dict):
        raise BadRequest(400, "the body must be a JSON object with `model` and `messages`")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest(400, "`messages` must be a non-empty list of {role, content}", param="messages")
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        raise BadRequest(400, "`messages` has no user message: the last one is the input", param="messages")
    content = users[-1].get("content")
    if isinstance(content, list):  # content parts: keep the text ones
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    if not isinstance(content, str) or not content.strip():
        raise BadRequest(400, "the last user message has no text: send the source to translate", param="messages")
    if body.get("n", 1) != 1:
        raise BadRequest(400, "only n=1 is supported", param="n")
    return content


def completion(model: RunModel, answer: Answer, request_id: str, created: int) -> dict[str, Any]:
    """A chat.completion object (plus the `experience` field)."""
    usage = answer.usage
    prompt, done = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
    return {
        "id": request_id,
        "object": "chat.completion",
        "created": created,
        "model": model.name,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done},
        "experience": {"step": answer.step, "rows": [r.as_dict() for r in answer.rows], "usage": usage},
    }


def chunks(model: RunModel, answer: Answer, request_id: str, created: int) -> list[dict[str, Any]]:
    """The chat.completion.chunk objects of a streamed answer: role, content pieces, then the finish."""
    head = {"id": request_id, "object": "chat.completion.chunk", "created": created, "model": model.name}
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": answer.text[i : i + STREAM_CHUNK]} for i in range(0, len(answer.text), STREAM_CHUNK)]
    out = [head | {"choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    last = {"index": 0, "delta": {}, "finish_reason": "stop"}
    used = {"step": answer.step, "rows": [r.as_dict() for r in answer.rows]}
    out.append(head | {"choices": [last], "experience": used})
    return out


def create_app(
    inference: Inference, run_dir: str | Path, *, api_key: str | None = None, concurrency: int = 4, queue: int = 32
) -> Starlette:
    """The ASGI app serving one run."""
    model = inference.model(run_dir)  # fails now, not at the first request, when there is no run
    gate = Gate(max(1, concurrency), max(0, queue))

    def authorize(request: Request) -> None:
        if api_key is None:
            return
        given = request.headers.get("authorization", "")
        token = given[7:] if given.lower().startswith("bearer ") else ""
        if not secrets.compare_digest(token.encode(), api_key.encode()):
            raise BadRequest(401, "missing or wrong API key: send Authorization: Bearer <key>", "authentication_error")

    async def models(request: Request) -> Response:
        authorize(request)
        created = int(model.path.stat().st_mtime)
        entry = {"id": model.name, "object": "model", "created": created, "owned_by": "experience"}
        return JSONResponse({"object": "list", "data": [entry]})

    async def health(_: Request) -> Response:
        state = {"status": "ok", "model": model.name, "step": model.run.state.step, "reloads": model.reloads}
        return JSONResponse(state)

    async def chat(request: Request) -> Response:
        authorize(request)
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            raise BadRequest(400, f"the body is not JSON: {exc}") from exc
        text = last_user_text(body)
        if body.get("model") not in (None, model.name):
            raise BadRequest(404, f"model {body.get('model')!r} is not served here; use {model.name!r}", param="model")
        async with gate:
            try:
                answers = await to_thread.run_sync(inference.answer, run_dir, [text])
            except ValueError as exc:
                raise BadRequest(400, str(exc)) from exc
        request_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if body.get("stream"):
            pieces = chunks(model, answers[0], request_id, created)

            async def events() -> AsyncIterator[dict[str, str]]:
                for piece in pieces:
                    yield {"data": json.dumps(piece)}
                yield {"data": "[DONE]"}

            return EventSourceResponse(events())
        return JSONResponse(completion(model, answers[0], request_id, created))

    async def refused(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadRequest)
        return exc.response()

    routes = [
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={BadRequest: refused})
