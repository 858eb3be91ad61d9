"""The HTTP application: thin routes over ``Handlers``, and one error format for everything.

``create_app`` builds it; ``server.py`` runs it. Routes authenticate, call one handler and
return its result; errors become ``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException

from confidante.errors import ConfidanteError, RateLimitExceededError
from confidante.records import Fact, Profile, Rating
from confidante.serving import protocol as p
from confidante.serving.handlers import Handlers
from confidante.serving.hosts import LoopbackOnly
from confidante.serving.limits import BodySizeLimit, RequestTimeout
from confidante.serving.timing import ServerTiming
from confidante.serving.wire import SERVER_ERROR_MESSAGE, describe, error_body
from confidante.training.scheduler import DistillScheduler

logger = logging.getLogger("confidante.serving")

Authorization = Annotated[str | None, Header()]
UserParam = Annotated[str | None, Query(description="The user, for admin keys and local mode.")]
HTTP_TYPES = {401: "authentication_error", 403: "permission_error", 404: "not_found_error"}


def create_app(handlers: Handlers) -> FastAPI:
    """The FastAPI application for one assistant."""
    app = FastAPI(
        title="Confidante",
        summary="An OpenAI-compatible assistant that remembers.",
        lifespan=lambda _app: background_distillation(handlers),
        responses={
            status: {"model": p.ErrorBody, "description": description}
            for status, description in p.ERROR_STATUSES.items()
        },
    )
    app.add_middleware(RequestTimeout, seconds=handlers.settings.server_request_timeout_s)
    app.add_middleware(BodySizeLimit, max_bytes=handlers.settings.server_max_body_bytes)
    if handlers.auth.local_mode:  # no keys: only this machine, not a page in its browser
        app.add_middleware(LoopbackOnly)
    app.add_middleware(ServerTiming)  # outermost: it times the limit check too
    add_error_handlers(app)
    add_chat_routes(app, handlers)
    add_memory_routes(app, handlers)
    declare_validation_as_400(app)
    return app


def declare_validation_as_400(app: FastAPI) -> None:
    """Drop FastAPI's 422 from the schema: a request it fails to validate is answered 400."""
    build = app.openapi

    def schema() -> dict[str, Any]:
        built = build()  # cached by FastAPI: this runs once
        for operations in built.get("paths", {}).values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        return built

    app.openapi = schema


@asynccontextmanager
async def background_distillation(h: Handlers) -> AsyncIterator[None]:
    """While the server runs, distill ratings every ``Settings.distill_interval_s`` (if set)."""
    distiller, interval = h.assistant.distiller, h.settings.distill_interval_s
    scheduler = DistillScheduler(distiller, interval) if distiller and interval > 0 else None
    if scheduler is not None:
        scheduler.start()
    try:
        yield
    finally:
        if scheduler is not None:
            await scheduler.stop()


def add_chat_routes(app: FastAPI, h: Handlers) -> None:
    """Chat completions, models, health and readiness."""

    @app.post(
        "/v1/chat/completions", response_model=None, responses={200: {"model": p.ChatCompletion}}
    )
    async def chat_completions(
        request: p.ChatCompletionRequest, authorization: Authorization = None
    ) -> Response:
        user_id = h.authenticate(authorization, request.user)
        if not request.stream:
            # Serialized by pydantic in one step: FastAPI's generic encoder, which it uses for
            # routes without one response model, took a third of the endpoint's own CPU time.
            completion = await h.chat(user_id, request)
            return Response(completion.model_dump_json(), media_type="application/json")
        events = await h.chat_stream(user_id, request)
        return StreamingResponse(events, media_type="text/event-stream")

    @app.get("/v1/models")
    async def models(authorization: Authorization = None) -> p.ModelList:
        h.auth.check_key(authorization)
        return await h.models()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> dict[str, str]:
        return await h.ready()


def add_memory_routes(app: FastAPI, h: Handlers) -> None:
    """The caller's own memories, profile, export, forget and feedback."""

    @app.post("/v1/memories/search")
    async def search(
        request: p.SearchRequest, authorization: Authorization = None
    ) -> p.RecollectionList:
        return await h.search(h.authenticate(authorization, request.user), request)

    @app.get("/v1/memories")
    async def memories(
        authorization: Authorization = None,
        user: UserParam = None,
        limit: Annotated[int | None, Query(description="Memories per page (default 100).")] = None,
        after: Annotated[str | None, Query(description="The last id of the page before.")] = None,
    ) -> p.MemoryPage:
        return await h.memories(h.authenticate(authorization, user), limit, after)

    @app.delete("/v1/memories/{memory_id:path}")
    async def delete_memory(
        memory_id: str, authorization: Authorization = None, user: UserParam = None
    ) -> p.Deleted:
        return await h.delete_memory(h.authenticate(authorization, user), memory_id)

    @app.get("/v1/preferences")
    async def preferences(
        authorization: Authorization = None, user: UserParam = None
    ) -> p.PreferenceList:
        return await h.preferences(h.authenticate(authorization, user))

    @app.delete("/v1/preferences/{preference_id}")
    async def remove_preference(
        preference_id: str, authorization: Authorization = None, user: UserParam = None
    ) -> Fact:
        return await h.remove_preference(h.authenticate(authorization, user), preference_id)

    @app.get("/v1/profile")
    async def profile(authorization: Authorization = None, user: UserParam = None) -> Profile:
        return await h.profile(h.authenticate(authorization, user))

    @app.get("/v1/export", response_model=dict[str, Any])
    async def export(authorization: Authorization = None, user: UserParam = None) -> Response:
        body = await h.export_json(h.authenticate(authorization, user))
        return Response(body, media_type="application/json")

    @app.delete("/v1/users/me")
    async def forget(authorization: Authorization = None, user: UserParam = None) -> p.Deleted:
        return await h.forget(h.authenticate(authorization, user))

    @app.post("/v1/observe")
    async def observe(request: p.ObserveRequest, authorization: Authorization = None) -> p.Observed:
        return await h.observe(h.authenticate(authorization, request.user), request)

    @app.post("/v1/feedback")
    async def feedback(request: p.FeedbackRequest, authorization: Authorization = None) -> Rating:
        return await h.feedback(h.authenticate(authorization, request.user), request)


def add_error_handlers(app: FastAPI) -> None:
    """Our errors keep their status; validation, routing and any other failure get the same body."""

    @app.exception_handler(ConfidanteError)
    async def on_confidante_error(request: Request, exc: ConfidanteError) -> JSONResponse:
        described = describe(exc)
        if described is None:
            return server_error(exc)
        wait = exc.retry_after_s if isinstance(exc, RateLimitExceededError) else None
        headers = {"Retry-After": str(wait)} if wait is not None else None
        return JSONResponse(described[1], status_code=described[0], headers=headers)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(exc), status_code=400)

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> JSONResponse:
        kind = HTTP_TYPES.get(exc.status_code, "invalid_request_error")
        body = error_body(str(exc.detail), kind, None)
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        return server_error(exc)


def server_error(exc: Exception) -> JSONResponse:
    """A 500 that says nothing about the failure; the traceback goes to the server's log."""
    logger.error("Unhandled error in a request", exc_info=exc)
    return JSONResponse(error_body(SERVER_ERROR_MESSAGE, "server_error", None), status_code=500)


def validation_body(exc: RequestValidationError) -> dict[str, Any]:
    """The first validation problem, with the field it concerns as ``param``."""
    problems = exc.errors()
    if not problems:
        return error_body("The request is invalid.", "invalid_request_error", "invalid_input")
    first = problems[0]
    where = [str(part) for part in first.get("loc", ()) if part != "body"]
    if first.get("type") == "json_invalid":
        message = "The request body is not valid JSON."
    else:
        message = f"{'.'.join(where) or 'request'}: {first.get('msg', 'invalid')}"
    return error_body(message, "invalid_request_error", "invalid_input", ".".join(where) or None)
