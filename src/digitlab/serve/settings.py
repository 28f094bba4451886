"""Settings of the web app: `digitlab serve` flags, else DIGITLAB_* environment variables, else defaults.

Usage:

    settings = ServeSettings()                               # defaults, overridden by DIGITLAB_PORT etc.
    settings = ServeSettings(model="mlp", max_upload_mb=5)   # given values win over the environment
    settings = settings_from_flags({"port": 9000, "host": None})   # the CLI: unset flags (None) left out
    app = create_app(settings)

pydantic-settings reads each field from the environment variable DIGITLAB_<FIELD>
(DIGITLAB_HOST, DIGITLAB_PORT, DIGITLAB_WORKERS, DIGITLAB_MODEL, DIGITLAB_RUNTIME,
DIGITLAB_MAX_UPLOAD_MB, DIGITLAB_BODY_TIMEOUT, DIGITLAB_CORS_ORIGINS as comma-separated origins,
DIGITLAB_ROOT_PATH, ...); values passed in (the flags) win over it. A bad value,
wherever it came from, is one sentence naming both the flag and the variable.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from digitlab.errors import UserError
from digitlab.recognize import READERS, RUNTIMES

ENV_PREFIX = "DIGITLAB_"


class ServeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", validate_default=True)

    # Where to listen: this machine only by default; port 0 takes any free port.
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    # Server processes sharing the port, each with its own copy of the model.
    workers: int = Field(1, ge=1)
    # The model answering requests that name none: a shipped name, a run name or
    # directory, an architecture (its newest run) or a .keras file. None picks the
    # best shipped model, else the newest run, as everywhere in digitlab.
    model: str | None = None
    runs_dir: str = "runs"
    # Inference runtime: "auto" (ONNX Runtime when the model has a model.onnx), "onnx" or "keras".
    runtime: str = "auto"
    # How images are read: "auto" (the line reader, a lone digit by the classifier), "line" or "segments".
    reader: str = "auto"
    # Whole request bodies above this are refused with 413 while they stream in.
    max_upload_mb: float = Field(10.0, gt=0)
    # The whole request body must arrive within this many seconds of the app asking for it,
    # else 408 and the connection is closed: a client trickling its body in holds nothing for long.
    body_timeout: float = Field(30.0, gt=0)
    # Decoded images above this many pixels are refused with 413 (decompression bombs).
    max_pixels: int = Field(40_000_000, ge=1)
    # Files accepted in one /api/predict/batch request.
    max_batch_files: int = Field(64, ge=1)
    # Up to this many images that arrive while the model is busy go through one
    # batched model call (dynamic batching); 1 turns batching off.
    max_batch_size: int = Field(32, ge=1)
    # Origins allowed to call the API from other pages; empty means CORS stays off.
    cors_origins: Annotated[list[str], NoDecode] = []
    # The path prefix a reverse proxy serves the app under (e.g. "/digits"), for the
    # OpenAPI page's "servers"; the web page itself uses relative URLs and needs none.
    root_path: str = ""

    @field_validator("runtime", "reader")
    @classmethod
    def _known_choice(cls, value: str, info: ValidationInfo) -> str:
        choices = {"runtime": RUNTIMES, "reader": READERS}[info.field_name]
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value):
        # DIGITLAB_CORS_ORIGINS="https://a.example,https://b.example"
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("root_path")
    @classmethod
    def _path_prefix(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith("/"):
            raise ValueError("must start with '/', e.g. /digits")
        return value

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


def option_names(field: str) -> str:
    """How a user sets a field: "--max-upload-mb or DIGITLAB_MAX_UPLOAD_MB"."""
    flag = "--cors-origin" if field == "cors_origins" else "--" + field.replace("_", "-")
    return f"{flag} or {ENV_PREFIX}{field.upper()}"


def describe_settings_error(error: ValidationError) -> str:
    """A pydantic ValidationError as one sentence naming the flag and the environment variable."""
    parts = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "settings"
        message = problem["msg"].removeprefix("Value error, ")
        parts.append(f"{option_names(field)}: {message[:1].lower()}{message[1:]} (got {problem['input']!r})")
    return "; ".join(parts) + "."


def settings_from_flags(flags: dict) -> ServeSettings:
    """ServeSettings from the flags a user gave (None: not given, so the environment or default applies)."""
    try:
        return ServeSettings(**{name: value for name, value in flags.items() if value is not None})
    except ValidationError as error:
        raise UserError(describe_settings_error(error)) from None
