"""Every error leaves the app as JSON {"detail": "one sentence"} with the right status.

Usage:

    install_error_handlers(app)

Bad input is always a 4xx: an image that is not an image (415), corrupt or empty
(422) or too large (413), a malformed request (422, also for a body that cannot be
parsed at all), an unknown model (404), a body that arrives too slowly (408).
Only the server's own failures are 500s, and those also answer in JSON.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from digitlab.errors import UserError
from digitlab.serve.models import ModelLoadError, ModelNotFound

log = logging.getLogger("digitlab.serve")

# ImageError.kind → HTTP status.
IMAGE_ERROR_STATUS = {"not_image": 415, "corrupt": 422, "empty": 422, "too_large": 413, "missing": 422}


def image_error_status(error: Exception) -> int:
    return IMAGE_ERROR_STATUS.get(getattr(error, "kind", ""), 422)


def _sentence(text: str) -> str:
    text = " ".join(str(text).split())
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def describe_validation_error(error: RequestValidationError) -> str:
    """The first problem pydantic found, as one sentence naming where it is."""
    problems = error.errors()
    if not problems:
        return "The request is not valid."
    first = problems[0]
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    where = ".".join(location)
    message = first.get("msg", "is not valid").removeprefix("Value error, ")
    if first.get("type") == "missing":
        return _sentence(f"The request is missing {where or 'a required field'}")
    if first.get("type") == "json_invalid":
        return "The request body is not valid JSON."
    return _sentence(f"{where}: {message}" if where else message)


def error_response(status: int, detail: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"detail": _sentence(detail)}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(422, describe_validation_error(error))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> JSONResponse:
        if error.status_code == 400:
            # Starlette and FastAPI answer a body they cannot parse at all (broken multipart, a JSON body
            # that is not UTF-8) with a bare 400; the API's status for a malformed request is 422.
            return error_response(422, f"The request body is malformed: {_lower_first(str(error.detail))}")
        return error_response(error.status_code, str(error.detail), headers=getattr(error, "headers", None))

    @app.exception_handler(ModelNotFound)
    async def _model_not_found(request: Request, error: ModelNotFound) -> JSONResponse:
        return error_response(404, str(error))

    @app.exception_handler(UserError)
    async def _user_error(request: Request, error: UserError) -> JSONResponse:
        # ImageError is a UserError with a .kind; other UserErrors are bad values.
        return error_response(image_error_status(error), str(error))

    @app.exception_handler(ModelLoadError)
    async def _model_load(request: Request, error: ModelLoadError) -> JSONResponse:
        log.error("%s", error)
        return error_response(500, str(error))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "The server failed to handle this request; the log has the details.")
