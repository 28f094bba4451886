"""The REST API: every endpoint, and every way a request can be wrong (always a 4xx JSON, never a 500).

The app runs in-process under FastAPI's TestClient, with a real model: the best
shipped model if there is one, else a 2-epoch tutorial MLP trained once per
session (about 15 s). tests/test_browser.py reuses the same fixtures.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import math

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from digitlab.formats import shipped_models
from digitlab.serve import ServeSettings, create_app
from digitlab.serve.batching import Batcher

NUMBER = "305"


# ---------- fixtures shared with test_browser.py ----------


@pytest.fixture(scope="session")
def serve_runs_dir(tmp_path_factory):
    """A runs dir for the server: empty if a shipped model exists, else one quick tutorial MLP run."""
    # A fixed place, so the browser tests (which import this fixture) reuse the same run.
    runs_dir = tmp_path_factory.getbasetemp() / "serve-runs"
    runs_dir.mkdir(exist_ok=True)
    if not shipped_models() and not any(runs_dir.glob("*/model.keras")):
        from digitlab.formats import RunConfig
        from digitlab.pipeline import run_pipeline

        run_pipeline(RunConfig(model="mlp", epochs=2, runs_dir=str(runs_dir)).stamp(), verbose=0)
    return runs_dir


@pytest.fixture(scope="session")
def mnist_test_set():
    from digitlab.data import load_mnist

    return load_mnist()[1]


def number_png(x_test: np.ndarray, y_test: np.ndarray, text: str = NUMBER, scale: int = 3) -> bytes:
    """A PNG of a handwritten number made of MNIST test digits: dark ink on white paper."""
    side, gap, margin = 28 * scale, 6 * scale, 12 * scale
    page = Image.new("L", (2 * margin + len(text) * side + (len(text) - 1) * gap, 2 * margin + side), 255)
    for position, character in enumerate(text):
        # The first test image of that digit with a clear, well-formed stroke.
        index = int(np.flatnonzero(y_test == int(character))[1])
        digit = Image.fromarray(255 - x_test[index]).resize((side, side), Image.Resampling.BILINEAR)
        page.paste(digit, (margin + position * (side + gap), margin))
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def number_image(mnist_test_set) -> bytes:
    return number_png(*mnist_test_set)


# ---------- fixtures of this module ----------


@pytest.fixture(scope="module")
def client(serve_runs_dir):
    with TestClient(create_app(ServeSettings(runs_dir=str(serve_runs_dir), max_upload_mb=1))) as test_client:
        yield test_client


def png_bytes(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def assert_error(response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str)
    assert words.lower() in body["detail"].lower(), body["detail"]
    assert body["detail"].endswith("."), "one sentence"


# ---------- status endpoints and the page ----------


def test_health_names_the_loaded_default_model(client):
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["model"] in body["loaded"]
    assert body["max_upload_mb"] == 1
    # Shipped models carry model.onnx, which ONNX Runtime runs; a bare run directory has only Keras.
    assert body["runtime"] == ("onnx" if shipped_models() else "keras")


def test_models_lists_the_default_with_its_test_accuracy(client):
    body = client.get("/api/models").json()
    default = [model for model in body["models"] if model["default"]]
    assert len(default) == 1 and default[0]["name"] == body["default"] and default[0]["loaded"]
    assert 0.9 < default[0]["test_accuracy"] <= 1.0


def test_page_and_its_assets_are_served_without_any_cdn(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'id="pad"' in page.text and 'capture="environment"' in page.text
    for asset in ("/static/app.js", "/static/style.css", "/static/favicon.svg"):
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert "https://" not in response.text, f"{asset} must work offline"
    assert "https://" not in page.text


def test_openapi_documents_every_endpoint_with_examples(client):
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    for path in ("/api/predict", "/api/predict/batch", "/api/predict/pixels", "/api/models", "/api/health"):
        assert path in schema["paths"], path
    assert "examples" in schema["components"]["schemas"]["PixelsRequest"]
    assert "413" in schema["paths"]["/api/predict"]["post"]["responses"]


# ---------- POST /api/predict ----------


def test_predict_reads_a_handwritten_number_left_to_right(client, number_image):
    response = client.post("/api/predict", files={"file": ("number.png", number_image, "image/png")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["prediction"] == NUMBER
    assert [digit["digit"] for digit in body["digits"]] == [int(character) for character in NUMBER]
    boxes = [digit["box"] for digit in body["digits"]]
    assert all(x0 < x1 and y0 < y1 for x0, y0, x1, y1 in boxes)
    assert [box[0] for box in boxes] == sorted(box[0] for box in boxes)
    for digit in body["digits"]:
        assert len(digit["probabilities"]) == 10 and math.isclose(sum(digit["probabilities"]), 1, abs_tol=1e-3)
    assert 0 < body["confidence"] <= 1
    assert "inputs" not in body


def test_predict_can_return_what_the_model_sees(client, number_image):
    body = client.post("/api/predict?inputs=true", files={"file": ("n.png", number_image, "image/png")}).json()
    assert len(body["inputs"]) == len(body["digits"]) == len(NUMBER)
    prefix = "data:image/png;base64,"
    assert all(url.startswith(prefix) for url in body["inputs"])
    model_input = Image.open(io.BytesIO(base64.b64decode(body["inputs"][0][len(prefix):])))
    assert model_input.size == (28, 28)
    pixels = np.asarray(model_input)
    assert pixels[0, 0] == 0 and pixels.max() > 200, "MNIST polarity: ink bright on black"


def test_predict_accepts_the_model_as_query_or_form_field(client, number_image):
    name = client.get("/api/health").json()["model"]
    by_query = client.post(f"/api/predict?model={name}", files={"file": ("n.png", number_image)})
    by_field = client.post("/api/predict", files={"file": ("n.png", number_image)}, data={"model": name})
    assert by_query.json()["model"] == by_field.json()["model"] == name


def test_a_blank_image_reads_as_nothing_not_an_error(client):
    response = client.post("/api/predict", files={"file": ("blank.png", png_bytes(Image.new("L", (200, 200), 255)))})
    assert response.status_code == 200
    assert response.json()["prediction"] == "" and response.json()["digits"] == []


@pytest.mark.parametrize(
    ("filename", "content", "status", "words"),
    [
        ("notes.txt", b"this is not an image, just some text\n", 415, "not an image"),
        ("empty.png", b"", 422, ""),
        ("broken.png", None, 422, ""),  # a PNG cut in half, filled in below
    ],
)
def test_bad_files_are_a_clear_4xx(client, filename, content, status, words):
    if content is None:
        whole = png_bytes(Image.effect_noise((300, 300), 60).convert("L"))
        content = whole[: len(whole) // 2]
    response = client.post("/api/predict", files={"file": (filename, content, "image/png")})
    assert_error(response, status, words)


def test_huge_image_dimensions_are_refused_before_decoding(client):
    # 50 million pixels, but a tiny file: a decompression bomb.
    bomb = png_bytes(Image.new("1", (10_000, 5_000), 1), optimize=True)
    assert len(bomb) < 1024 * 1024
    assert_error(client.post("/api/predict", files={"file": ("bomb.png", bomb, "image/png")}), 413, "")


def test_upload_over_the_limit_is_413(client):
    too_big = b"\x89PNG" + bytes(2 * 1024 * 1024)
    assert_error(client.post("/api/predict", files={"file": ("big.png", too_big, "image/png")}), 413, "limit of 1 MB")


def test_upload_limit_holds_without_a_content_length(client):
    # A chunked body declares no length: the limit is enforced on the bytes as they arrive.
    boundary = "limit-test"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
            "Content-Type: image/png\r\n\r\n").encode()

    def chunks():
        yield head
        for _ in range(40):
            yield bytes(64 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        "/api/predict", content=chunks(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert_error(response, 413, "limit")


def test_missing_file_field_is_422(client, number_image):
    response = client.post("/api/predict", files={"image": ("n.png", number_image, "image/png")})
    assert_error(response, 422, "missing file")


def test_malformed_multipart_is_a_4xx(client):
    response = client.post(
        "/api/predict", content=b"--x\r\ngarbage", headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert 400 <= response.status_code < 500 and "detail" in response.json()


def test_unknown_model_is_404(client, number_image):
    assert_error(client.post("/api/predict?model=no-such-model", files={"file": ("n.png", number_image)}), 404, "no-such-model")


def test_a_path_is_not_accepted_as_a_model_name(client, serve_runs_dir, number_image):
    # Requests pick from the catalog only; a URL never makes the server load a file.
    path = next(serve_runs_dir.glob("*/model.keras"), "/etc/passwd")
    assert_error(client.post("/api/predict", params={"model": str(path)}, files={"file": ("n.png", number_image)}), 404, "")


# ---------- POST /api/predict/pixels ----------


def test_pixels_classifies_an_mnist_digit(client, mnist_test_set):
    x_test, y_test = mnist_test_set
    index = int(np.flatnonzero(y_test == 7)[0])
    response = client.post("/api/predict/pixels", json={"pixels": x_test[index].tolist()})
    assert response.status_code == 200, response.text
    assert response.json()["prediction"] == "7"
    scaled = client.post("/api/predict/pixels", json={"pixels": (x_test[index] / 255).tolist()}).json()
    assert scaled["prediction"] == "7", "0–1 and 0–255 are both accepted"


def test_blank_pixels_read_as_nothing(client):
    body = client.post("/api/predict/pixels", json={"pixels": [[0] * 28] * 28}).json()
    assert body["prediction"] == ""


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"pixels": [[0] * 28] * 27}, "28 rows"),
        ({"pixels": [[0] * 28] * 27 + [[0] * 29]}, "row 27"),
        ({"pixels": [[0] * 28] * 27 + [[0] * 27 + [float("nan")]]}, "finite"),
        ({"pixels": [[0] * 28] * 27 + [[0] * 27 + [float("inf")]]}, "finite"),
        ({"pixels": [[0] * 28] * 27 + [[0] * 27 + [300]]}, "0–255"),
        ({"pixels": [[0] * 28] * 27 + [[0] * 27 + ["ink"]]}, "number"),
        ({"pixels": "not a list"}, "pixels"),
        ({"values": [[0] * 28] * 28}, "missing pixels"),
    ],
)
def test_bad_pixels_are_422_with_one_sentence(client, payload, words):
    body = json.dumps(payload)  # json.dumps writes NaN/Infinity, as sloppy clients do
    response = client.post("/api/predict/pixels", content=body, headers={"Content-Type": "application/json"})
    assert_error(response, 422, words)


def test_pixels_body_that_is_not_json_is_422(client):
    response = client.post("/api/predict/pixels", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(response, 422, "not valid json")


# ---------- POST /api/predict/batch ----------


def test_batch_reads_each_file_and_reports_bad_ones_alongside(client, number_image):
    files = [
        ("files", ("a.png", number_image, "image/png")),
        ("files", ("notes.txt", b"plain text", "text/plain")),
        ("files", ("b.png", number_image, "image/png")),
    ]
    response = client.post("/api/predict/batch", files=files)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [result["filename"] for result in results] == ["a.png", "notes.txt", "b.png"]
    assert results[0]["prediction"] == results[2]["prediction"] == NUMBER
    assert results[1]["status"] == 415 and "not an image" in results[1]["error"] and "prediction" not in results[1]


def test_batch_with_too_many_files_is_413(client):
    files = [("files", (f"{index}.png", b"x", "image/png")) for index in range(65)]
    assert_error(client.post("/api/predict/batch", files=files), 413, "at most 64")


def test_batch_without_files_is_422(client):
    assert_error(client.post("/api/predict/batch", data={"model": "x"}), 422, "missing files")


# ---------- CORS, settings, CLI ----------


def test_cors_is_off_unless_configured(client, serve_runs_dir):
    preflight = {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in client.options("/api/predict", headers=preflight).headers
    settings = ServeSettings(runs_dir=str(serve_runs_dir), cors_origins=["https://example.org"])
    with TestClient(create_app(settings)) as cors_client:
        response = cors_client.options("/api/predict", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://example.org"


def test_settings_refuse_nonsense():
    with pytest.raises(ValueError, match="greater than 0"):
        ServeSettings(max_upload_mb=0)


def test_serve_without_any_model_is_one_error_line(tmp_path, capsys, monkeypatch):
    from digitlab import cli

    from digitlab.formats import cards

    monkeypatch.setenv("DIGITLAB_MODELS_DIR", str(tmp_path / "no-models"))
    monkeypatch.setattr(cards, "bundled_models_dir", lambda: None)  # as if the package carried no reader
    status = cli.main(["serve", "--runs-dir", str(tmp_path), "--port", "0"])
    assert status == 1
    error = capsys.readouterr().err
    assert error.startswith("digitlab: error:") and "digitlab run" in error and error.count("\n") == 1


def test_serve_with_an_unknown_model_is_one_error_line(tmp_path, capsys):
    from digitlab import cli

    assert cli.main(["serve", "--model", "no-such-model", "--runs-dir", str(tmp_path)]) == 1
    assert "no-such-model" in capsys.readouterr().err


# ---------- dynamic batching ----------


def test_requests_arriving_while_the_model_is_busy_share_one_call():
    from concurrent.futures import ThreadPoolExecutor
    import threading

    started, release = threading.Event(), threading.Event()
    calls = []

    def read_many(images):
        calls.append(list(images))
        started.set()
        release.wait(30)  # a deadline only: the test sets it as soon as the queue is filled
        return [image * 10 if image >= 0 else ValueError("negative") for image in images]

    async def scenario():
        batcher = Batcher(read_many, ThreadPoolExecutor(1), max_batch_size=4)
        first = asyncio.ensure_future(batcher.submit(1))
        assert await asyncio.to_thread(started.wait, 30), "the first model call never started"
        rest = [asyncio.ensure_future(batcher.submit(value)) for value in (2, 3, -1, 5, 6)]
        # One turn of the event loop, not a wait for time: each new task runs up to
        # its await, so all five are queued behind the busy model before it is released.
        await asyncio.sleep(0)
        release.set()
        outcomes = await asyncio.gather(first, *rest, return_exceptions=True)
        return outcomes, batcher

    # In a thread of its own: pytest-playwright keeps an event loop running in
    # the main thread for the whole session once a browser test has run.
    with ThreadPoolExecutor(1) as runner:
        outcomes, batcher = runner.submit(asyncio.run, scenario()).result()
    assert outcomes[:3] == [10, 20, 30] and isinstance(outcomes[3], ValueError) and outcomes[4:] == [50, 60]
    assert calls == [[1], [2, 3, -1, 5], [6]], "a lone request goes at once; the queue goes in batches of 4"
    assert batcher.calls == 3 and batcher.images == 6


# ---------- /docs works offline ----------


def test_docs_load_swagger_ui_from_this_server_only(client):
    import re
    from html.parser import HTMLParser
    from urllib.parse import urljoin

    class AssetURLs(HTMLParser):
        def __init__(self):
            super().__init__()
            self.urls = []

        def handle_starttag(self, tag, attrs):
            self.urls += [value for name, value in attrs if name in ("src", "href") and value]

    page = client.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "http://" not in page.text and "https://" not in page.text, "/docs must not load anything from a CDN"
    parser = AssetURLs()
    parser.feed(page.text)
    # The spec Swagger UI fetches is named in the inline script, not in an attribute.
    urls = parser.urls + re.findall(r"""\burl:\s*['"]([^'"]+)['"]""", page.text)
    assert any(url.endswith("swagger-ui-bundle.js") for url in urls) and any(url.endswith(".css") for url in urls)
    assert "openapi.json" in urls
    for url in urls:
        # Relative, so that /docs also works under a reverse proxy's path prefix (test_serve_proxy.py).
        assert ":" not in url and not url.startswith("/"), f"{url} is not a relative URL of this server"
        response = client.get(urljoin("/docs", url))
        assert response.status_code == 200, url
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1"), "Swagger UI 5 renders OpenAPI 3.1"
    assert client.get("/redoc").status_code == 404, "ReDoc would need a CDN; it stays off"


def test_several_worker_processes_serve_and_stop_cleanly(serve_runs_dir, number_image, tmp_path):
    """`digitlab serve --workers 2`: both processes answer, and SIGTERM stops them all without a traceback."""
    import signal

    import httpx2 as httpx
    from serve_process import ServeProcess

    # Ready once both workers logged their startup (read from the server's output, not polled).
    server = ServeProcess(["--workers", "2", "--runs-dir", str(serve_runs_dir)], tmp_path / "serve.log", workers=2)
    try:
        # New connections are spread over the workers; every one must read the number.
        for _ in range(6):
            response = httpx.post(f"{server.url}/api/predict", files={"file": ("n.png", number_image, "image/png")})
            assert response.status_code == 200 and response.json()["prediction"] == NUMBER
    finally:
        status = server.stop(signal.SIGTERM, timeout=30)
    log_text = server.log_text()
    assert status == 0 and "Traceback" not in log_text, log_text
    assert log_text.count("Started server process") >= 2, log_text
