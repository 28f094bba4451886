"""Schemathesis over the app's OpenAPI: no generated request makes a 5xx, every answer matches the spec.

A short, deterministic run (derandomized, a bounded number of examples) over
every operation in /openapi.json, with requests that fit the spec (positive)
and requests that break it (negative), in-process against the ASGI app with a
real model. A new endpoint is covered as soon as it is in the spec, so it cannot
ship a 500 or an answer its own docs do not describe.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from digitlab.serve import ServeSettings, create_app
from test_serve_api import serve_runs_dir  # noqa: F401  (shared fixture)

# Read from the spec at collection (building the app loads no model): one test per operation and
# mode; an operation that takes no input at all cannot be sent a request that breaks its spec.
SPEC = create_app().openapi()
CASES = [
    pytest.param(method.upper(), path, mode, id=f"{method.upper()} {path} {mode}")
    for path, methods in SPEC["paths"].items()
    for method, operation in methods.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or operation.get("parameters") or operation.get("requestBody")
]
# A longer search: DIGITLAB_SCHEMA_EXAMPLES=1000 pytest tests/test_serve_schema.py
EXAMPLES = int(os.environ.get("DIGITLAB_SCHEMA_EXAMPLES", "25"))
# No 5xx; the status, its content type and its body are ones the spec documents for the operation.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api_schema(serve_runs_dir):  # noqa: F811
    app = create_app(ServeSettings(runs_dir=str(serve_runs_dir), max_upload_mb=1))
    yield schemathesis.openapi.from_asgi("/openapi.json", app)  # starts the app's lifespan: the model loads once
    shutdown_lifespans()


@pytest.mark.parametrize("method, path, mode", CASES)
def test_no_request_makes_a_server_error_or_breaks_the_spec(api_schema, method, path, mode):
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(checks=CHECKS)

    check()
