"""Loading over http:// from a local http.server thread: weights relative to the model URL,
headers from requestInit, weightPathPrefix, error statuses, timeouts, and saving by POST."""
import asyncio
import functools
import http.server
import shutil
import threading
import time

import numpy as np
import pytest

import kiln as tf
from kiln.frontend.io import ModelIOError, UnsafePathError
from tests.frontend.io.models import mlp, predict

X = np.random.RandomState(11).randn(2, 4).astype(np.float32)


class Handler(http.server.SimpleHTTPRequestHandler):
    seen: list = []
    posted: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        Handler.seen.append((self.path, dict(self.headers)))
        if self.path.startswith("/slow"):
            time.sleep(1.5)
        if self.path.startswith("/status/"):
            self.send_error(int(self.path.split("/")[2]))
            return
        if self.path.startswith("/private") and self.headers.get("Authorization") != "Bearer t":
            self.send_error(401)
            return
        super().do_GET()

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        Handler.posted.append((self.headers["Content-Type"], self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def translate_path(self, path):
        path = path.split("?", 1)[0]
        for prefix in ("/slow", "/private"):
            if path.startswith(prefix):
                path = path[len(prefix):]
        return super().translate_path(path)


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass          # a client that timed out closes its socket: not an error here


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("www")
    asyncio.run(mlp().save(str(root / "m")))
    handler = functools.partial(Handler, directory=str(root))
    httpd = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


def load(url, options=None):
    return asyncio.run(tf.loadLayersModel(url, options))


def test_load_over_http_fetches_weights_next_to_the_model(server):
    base, _ = server
    Handler.seen.clear()
    model = load(f"{base}/m/model.json?v=3")
    np.testing.assert_array_equal(predict(model, X)[0], predict(mlp(), X)[0])
    assert [path for path, _ in Handler.seen] == ["/m/model.json?v=3", "/m/weights.bin?v=3"]


def test_request_init_headers_are_sent(server):
    base, _ = server
    with pytest.raises(ModelIOError, match="HTTP 401"):
        load(f"{base}/private/m/model.json")
    model = load(f"{base}/private/m/model.json",
                 {"requestInit": {"headers": {"Authorization": "Bearer t"}}})
    assert model.getLayer("hidden") is not None


def test_weight_path_prefix(server):
    base, root = server
    shutil.copytree(root / "m", root / "elsewhere", dirs_exist_ok=True)
    (root / "elsewhere" / "model.json").unlink()
    Handler.seen.clear()
    load(f"{base}/m/model.json", {"weightPathPrefix": f"{base}/elsewhere/"})
    assert Handler.seen[-1][0] == "/elsewhere/weights.bin"


@pytest.mark.parametrize("status", [404, 500])
def test_error_status_is_a_clear_io_error(server, status):
    base, _ = server
    with pytest.raises(ModelIOError, match=f"/status/{status}/model.json: the server answered "
                                           f"HTTP {status}"):
        load(f"{base}/status/{status}/model.json")


def test_timeout(server):
    base, _ = server
    start = time.monotonic()
    with pytest.raises(ModelIOError, match="timed out"):
        load(f"{base}/slow/m/model.json", {"requestInit": {"timeout": 0.3}})
    assert time.monotonic() - start < 1.4


def test_unreachable_server():
    with pytest.raises(ModelIOError, match="request failed"):
        load("http://127.0.0.1:9/model.json", {"requestInit": {"timeout": 2}})


def test_manifest_urls_escaping_the_model_location_are_refused(server):
    base, root = server
    import json
    shutil.copytree(root / "m", root / "evil", dirs_exist_ok=True)
    data = json.loads((root / "evil" / "model.json").read_text())
    data["weightsManifest"][0]["paths"] = ["../m/weights.bin"]
    (root / "evil" / "model.json").write_text(json.dumps(data))
    with pytest.raises(UnsafePathError, match="refusing"):
        load(f"{base}/evil/model.json")


def test_save_posts_multipart_form_data(server):
    base, _ = server
    Handler.posted.clear()
    result = asyncio.run(mlp().save(f"{base}/upload"))
    assert result["modelArtifactsInfo"]["modelTopologyType"] == "JSON"
    content_type, body = Handler.posted[-1]
    assert content_type.startswith("multipart/form-data; boundary=")
    assert b'name="model.json"; filename="model.json"' in body
    assert b'name="model.weights.bin"' in body
    assert b'"paths":["./model.weights.bin"]' in body
