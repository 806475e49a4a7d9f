"""The gateway's exception handlers: every error becomes ``{"error": "..."}`` with its status."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common.errors import CleanTracksError

__all__ = ["install_error_handlers", "validation_message"]

logger = logging.getLogger(__name__)

_HTTP_MESSAGES = {404: "Resource not found", 405: "Method not allowed"}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": message})


def validation_message(errors: list[dict]) -> str:
    """Returns one readable line naming each failing field, e.g. "name: field required"."""
    parts = []
    for err in errors:
        if err.get("type") == "json_invalid":
            detail = (err.get("ctx") or {}).get("error", "")
            parts.append(f"malformed JSON body{': ' + detail if detail else ''}")
            continue
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")]
        field = ".".join(loc) or "body"
        message = str(err.get("msg", "invalid value"))
        if err.get("type") == "missing":
            message = "field required"
        elif err.get("type") == "extra_forbidden":
            message = "unknown field"
        parts.append(f"{field}: {message[0].lower()}{message[1:]}")
    return "; ".join(parts) or "invalid request"


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CleanTracksError)
    if exc.http_status >= 500 and exc.http_status != 503:
        logger.error("%s %s failed: %s", request.method, request.url.path, exc.message)
        return _error(500, "Internal server error")
    return _error(exc.http_status, exc.message)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return _error(400, validation_message(list(exc.errors())))


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = (
        exc.detail
        if isinstance(exc.detail, str) and exc.status_code not in _HTTP_MESSAGES
        else _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
    )
    return _error(exc.status_code, message)


async def _unknown(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return _error(500, "Internal server error")


def install_error_handlers(app: FastAPI) -> None:
    """Registers the handlers; anything unknown is a 500 with the traceback in the log."""
    app.add_exception_handler(CleanTracksError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unknown)
