"""Property tests (hypothesis) of the REST payloads: whatever a client sends, a 2xx or a 4xx in the JSON error shape.

Pixels JSON of any shape and values, uploads of random or damaged bytes, batches
and bodies at and past their limits, all in-process (TestClient) with a real model.
Every answer is either a success or {"detail": "one sentence."} with a 4xx, never
a 5xx; inputs that are valid get a 200. Derandomized and bounded, so the run is
short and the same every time.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from digitlab.serve import ServeSettings, create_app
from raw_http import multipart_body
from test_serve_api import serve_runs_dir  # noqa: F401  (shared fixture)

MAX_BATCH_FILES = 4
MAX_UPLOAD_MB = 0.05
LIMIT_BYTES = int(MAX_UPLOAD_MB * 1024 * 1024)
BOUNDED = settings(max_examples=40, derandomize=True, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def client(serve_runs_dir):  # noqa: F811
    app = create_app(ServeSettings(runs_dir=str(serve_runs_dir), max_upload_mb=MAX_UPLOAD_MB,
                                   max_batch_files=MAX_BATCH_FILES))
    with TestClient(app) as test_client:
        yield test_client


def assert_success_or_client_error(response) -> None:
    """A 2xx, or a 4xx whose body is exactly {"detail": "one sentence."}; never a 5xx."""
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"detail"} and isinstance(body["detail"], str) and body["detail"].endswith("."), body
    else:
        assert 200 <= response.status_code < 300, response.text


def small_png(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    image = Image.fromarray((rng.random((40, 60)) > 0.7).astype(np.uint8) * 255)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# ---------- POST /api/predict/pixels ----------

anything = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**40), 10**40), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
)
rows = st.lists(st.one_of(st.lists(anything, max_size=32), anything), max_size=32)
side_28 = st.integers(26, 30)
near_square = side_28.flatmap(lambda height: st.lists(
    side_28.flatmap(lambda width: st.lists(st.floats(-1, 256, allow_nan=False), min_size=width, max_size=width)),
    min_size=height, max_size=height))
pixels_payloads = st.one_of(
    st.fixed_dictionaries({"pixels": rows}),
    st.fixed_dictionaries({"pixels": near_square}),
    st.dictionaries(st.text(max_size=8), rows, max_size=3),
    rows,
    anything,
)
valid_pixels = st.lists(st.lists(st.floats(0, 255), min_size=28, max_size=28), min_size=28, max_size=28)


@BOUNDED
@given(payload=pixels_payloads)
def test_pixels_of_any_shape_and_value_are_a_2xx_or_a_json_4xx(client, payload):
    # json.dumps writes NaN, Infinity and huge integers, as sloppy clients do.
    response = client.post("/api/predict/pixels", content=json.dumps(payload),
                           headers={"Content-Type": "application/json"})
    assert_success_or_client_error(response)


@BOUNDED
@given(pixels=valid_pixels)
def test_any_valid_28_by_28_pixels_are_read(client, pixels):
    response = client.post("/api/predict/pixels", json={"pixels": pixels})
    assert response.status_code == 200, response.text
    assert response.json()["prediction"] in {"", *"0123456789"}


@BOUNDED
@given(body=st.binary(max_size=300))
def test_a_pixels_body_of_random_bytes_is_a_json_4xx(client, body):
    response = client.post("/api/predict/pixels", content=body, headers={"Content-Type": "application/json"})
    assert_success_or_client_error(response)
    assert response.status_code == 422  # 300 bytes cannot hold 28 rows of 28 numbers


# ---------- POST /api/predict ----------

damaged_pngs = st.builds(
    lambda seed, cut, flips: bytes(
        byte ^ 0xFF if index in flips else byte for index, byte in enumerate(small_png(seed)[:cut])),
    st.integers(0, 3), st.integers(0, 400), st.sets(st.integers(0, 400), max_size=4),
)
uploads = st.one_of(st.binary(max_size=2000), damaged_pngs, st.integers(0, 3).map(small_png))


@BOUNDED
@given(data=uploads, filename=st.text(max_size=20), content_type=st.sampled_from(
    ["image/png", "image/jpeg", "application/octet-stream", "text/plain"]))
def test_an_upload_of_any_bytes_is_a_2xx_or_a_json_4xx(client, data, filename, content_type):
    response = client.post("/api/predict", files={"file": (filename or "f", data, content_type)})
    assert_success_or_client_error(response)


@BOUNDED
@given(size=st.one_of(st.integers(0, 2 * LIMIT_BYTES), st.integers(LIMIT_BYTES - 200, LIMIT_BYTES + 10)),
       streamed=st.booleans())
def test_the_upload_limit_holds_at_its_edge_with_or_without_a_content_length(client, size, streamed):
    body, content_type = multipart_body("file", "f.png", b"\x89PNG" + bytes(max(size - 4, 0)))
    content = iter([body[: len(body) // 2], body[len(body) // 2:]]) if streamed else body
    response = client.post("/api/predict", content=content, headers={"Content-Type": content_type})
    assert_success_or_client_error(response)
    assert (response.status_code == 413) == (len(body) > LIMIT_BYTES), (len(body), response.text)


# ---------- POST /api/predict/batch ----------


@BOUNDED
@given(files=st.lists(st.one_of(uploads, st.integers(0, 3).map(small_png)), max_size=MAX_BATCH_FILES + 3))
def test_a_batch_at_and_past_its_file_limit(client, files):
    response = client.post("/api/predict/batch", files=[("files", (f"{index}.png", data, "image/png"))
                                                        for index, data in enumerate(files)])
    assert_success_or_client_error(response)
    if not files:
        assert response.status_code == 422
    elif len(files) > MAX_BATCH_FILES:
        assert response.status_code == 413
    elif sum(map(len, files)) < LIMIT_BYTES // 2:  # well inside the upload limit: every file gets its own answer
        results = response.json()["results"]
        assert response.status_code == 200 and len(results) == len(files)
        for result in results:
            assert result["status"] == 200 or (400 <= result["status"] < 500 and result["error"].endswith("."))
