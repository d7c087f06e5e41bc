"""The HTTP side of `pix2pix_tf.serving`: TensorFlow Serving's REST API, raw
image translation for curl, and the web page, on a pool of threads.

    POST /v1/models/pix2pix:predict   {"instances": [{"b64": ...}]} -> {"predictions": [{"b64": ...}]}
                                      ({"inputs": [...]} -> {"outputs": [...]}, the columnar form)
    POST /translate                   PNG/JPEG bytes -> image bytes
    GET  /v1/models/pix2pix           {"model_version_status": [...]}, as TF Serving answers
    GET  /healthz                     {"status": "ok"}
    GET  /                            the page; /static/NAME its files; /info and
                                      /examples/N.png what it shows

Errors are JSON {"error": "..."}: 400 bad JSON or image, 404 unknown path,
405 wrong method, 411 no Content-Length, 413 body over the limit, 500 a
failure of the server, which goes on serving.
"""

import base64
import binascii
import concurrent.futures
import http.server
import json
import mimetypes
import os
import re
import traceback
import urllib.parse

from pix2pix_tf.serving.model import BadImage, image_type, palette

MODEL_NAME = "pix2pix"
WEB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web")
WORKERS = 8  # Requests handled at once; model calls still run one at a time.
SOCKET_TIMEOUT = 60  # Seconds a stalled client may hold a worker.
# /v1/models/pix2pix, .../versions/N, each optionally followed by :predict.
MODEL_PATH = re.compile(r"/v1/models/([^/:]+)(?:/versions/(\d+))?(:predict)?")


class HTTPError(Exception):
    def __init__(self, status, message, headers=()):
        super().__init__(message)
        self.status = status
        self.headers = dict(headers)


def _decode_b64(value, where):
    """TF Serving's {"b64": ...} (standard or web-safe alphabet) -> bytes."""
    if isinstance(value, dict) and len(value) == 1 and "b64" not in value:
        (value,) = value.values()  # {"input": {"b64": ...}}: the one named input.
    if not (isinstance(value, dict) and isinstance(value.get("b64"), str)):
        raise HTTPError(400, f'{where} must be {{"b64": "<base64 of a PNG or JPEG>"}}')
    text = value["b64"].strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as e:
        raise HTTPError(400, f"{where} is not valid base64: {e}") from e


def parse_predict_request(body):
    """A REST predict body -> (list of image bytes, the response's key)."""
    try:
        request = json.loads(body)
    except (UnicodeDecodeError, ValueError) as e:
        raise HTTPError(400, f"the body is not JSON: {e}") from e
    if not isinstance(request, dict):
        raise HTTPError(400, 'the body must be a JSON object with "instances" or "inputs"')
    signature = request.get("signature_name", "serving_default")
    if signature != "serving_default":
        raise HTTPError(400, f"unknown signature_name {signature!r}: this server has serving_default")
    if "instances" in request:
        items, key = request["instances"], "predictions"
    elif "inputs" in request:
        items, key = request["inputs"], "outputs"
        if isinstance(items, dict) and len(items) == 1:
            (items,) = items.values()  # {"inputs": {"input": [...]}}: the one named input.
    else:
        raise HTTPError(400, 'the body must have "instances" (rows) or "inputs" (columns)')
    if not isinstance(items, list) or not items:
        raise HTTPError(400, f'"{"instances" if key == "predictions" else "inputs"}" must be a '
                             "non-empty list of images")
    return [_decode_b64(item, f"image {i}") for i, item in enumerate(items)], key


class Handler(http.server.BaseHTTPRequestHandler):
    """Routes a request to the server's model; every error becomes JSON."""

    server_version = "pix2pix_tf"
    # HTTP/1.1 for "Expect: 100-continue" (curl sends it before large bodies),
    # but every connection closes after its response: an idle keep-alive
    # connection would hold one of the pool's threads.
    protocol_version = "HTTP/1.1"
    timeout = SOCKET_TIMEOUT

    # --- routing

    def _route(self, path):
        """{method: function} of `path`; HTTPError 404 if it has none."""
        model = self.server.model
        if path == "/":
            return {"GET": lambda: self._file("index.html")}
        if path.startswith("/static/"):
            name = path[len("/static/"):]
            if name in os.listdir(WEB_DIR) and name != "index.html":  # Local: the package's web/.
                return {"GET": lambda: self._file(name)}
        if path == "/healthz":
            return {"GET": lambda: self._json({"status": "ok"})}
        if path == "/info":
            return {"GET": self._info}
        match = re.fullmatch(r"/examples/(\d+)\.png", path)
        if match and int(match.group(1)) < len(model.examples):
            return {"GET": lambda: (200, "image/png", model.examples[int(match.group(1))][1])}
        if path == "/translate":
            return {"POST": self._translate}
        match = MODEL_PATH.fullmatch(path)
        if match:
            name, version, predict = match.groups()
            if name != MODEL_NAME or (version is not None and int(version) != model.version):
                raise HTTPError(404, f"Servable not found for request: {name}"
                                + (f" version {version}" if version else "")
                                + f"; this server has {MODEL_NAME} version {model.version}")
            return {"POST": self._predict} if predict else {"GET": self._status}
        raise HTTPError(404, f"no such path: {path}")

    def _dispatch(self, method):
        head = method == "HEAD"
        try:
            routes = self._route(urllib.parse.urlsplit(self.path).path)
            function = routes.get("GET" if head else method)
            if function is None:
                raise HTTPError(405, f"{method} is not allowed here; use {', '.join(routes)}",
                                {"Allow": ", ".join(routes)})
            status, content_type, body = function()
            headers = {}
        except HTTPError as e:
            status, content_type, body = self._json({"error": str(e)}, e.status)
            headers = e.headers
        except Exception as e:  # A bug or a model failure: report it and keep serving.
            self.server.log(f"error in {method} {self.path}:\n{traceback.format_exc()}")
            status, content_type, body = self._json(
                {"error": f"internal error: {type(e).__name__}: {e}"}, 500)
            headers = {}
        self._send(status, content_type, body, headers, head)

    def _send(self, status, content_type, body, headers=(), head=False):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in dict(headers).items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def handle_expect_100(self):
        """Refuses a body announced over the limit before the client sends it."""
        try:
            self._body_length()
        except HTTPError as e:
            self._send(*self._json({"error": str(e)}, e.status))
            return False
        return super().handle_expect_100()

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_OPTIONS(self):
        self._dispatch("OPTIONS")

    def log_message(self, format, *args):
        self.server.log(f"{self.address_string()} {format % args}")

    # --- requests and responses

    def _body_length(self):
        """The Content-Length of the request; HTTPError if missing, bad or over the limit."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise HTTPError(411, "chunked bodies are not supported: send a Content-Length")
        length = self.headers.get("Content-Length")
        if length is None:
            raise HTTPError(411, "a Content-Length header is required")
        try:
            length = int(length)
        except ValueError:
            length = -1
        if length < 0:
            raise HTTPError(400, f"bad Content-Length: {self.headers['Content-Length']}")
        limit = self.server.max_request_bytes
        if length > limit:
            raise HTTPError(413, f"the body is {length} bytes, more than the limit of {limit} "
                                 "(--max_request_mb)")
        return length

    def _body(self):
        """The request body, checked against the size limit before it is read."""
        length = self._body_length()
        body = self.rfile.read(length)
        if len(body) < length:
            raise HTTPError(400, f"the body ended after {len(body)} of {length} bytes")
        return body

    @staticmethod
    def _json(value, status=200):
        return status, "application/json", (json.dumps(value) + "\n").encode()

    def _file(self, name):
        with open(os.path.join(WEB_DIR, name), "rb") as f:  # Local: the package's web/ assets.
            body = f.read()
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type.endswith("javascript"):
            content_type += "; charset=utf-8"
        return 200, content_type, body

    def _translate_one(self, image, where):
        try:
            return self.server.model.translate(image)
        except BadImage as e:
            raise HTTPError(400, f"{where}: {e}") from e

    def _translate(self):
        output = self._translate_one(self._body(), "the body")
        return 200, image_type(output), output

    def _predict(self):
        images, key = parse_predict_request(self._body())
        # One model call per image: batch norm normalises with the statistics
        # of the batch, so an image's output must not depend on its neighbours.
        outputs = [self._translate_one(image, f"image {i}") for i, image in enumerate(images)]
        return self._json({key: [{"b64": base64.b64encode(x).decode("ascii")} for x in outputs]})

    def _status(self):
        return self._json({"model_version_status": [{
            "version": str(self.server.model.version), "state": "AVAILABLE",
            "status": {"error_code": "OK", "error_message": ""}}]})

    def _info(self):
        model = self.server.model
        return self._json({
            "model": MODEL_NAME, "version": model.version, "export_dir": model.export_dir,
            "size": model.size, "palette": palette(),
            "examples": [{"name": name, "url": f"/examples/{i}.png"}
                         for i, (name, _) in enumerate(model.examples)]})


class Server(http.server.HTTPServer):
    """An HTTPServer that hands each connection to a pool of WORKERS threads.

    Args:
        address: (host, port); port 0 takes a free port (see `url`).
        model: a serving.model.ServedModel.
        max_request_bytes: bodies over this size get 413 without being read.
        log: where request lines and errors go.
    """

    allow_reuse_address = True

    def __init__(self, address, model, max_request_bytes, log=print):
        self.model = model
        self.max_request_bytes = int(max_request_bytes)
        self.log = log
        self._pool = concurrent.futures.ThreadPoolExecutor(WORKERS, thread_name_prefix="serve")
        super().__init__(address, Handler)

    @property
    def url(self):
        host, port = self.server_address[:2]
        if host == "0.0.0.0":
            host = "localhost"  # Listening on every interface: this machine's own works.
        return f"http://{host}:{port}/"

    def process_request(self, request, client_address):
        self._pool.submit(self._handle, request, client_address)

    def _handle(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def handle_error(self, request, client_address):
        # A client that went away mid-response is not worth a traceback.
        self.log(f"connection from {client_address[0]} failed: {traceback.format_exc(limit=1)}")

    def server_close(self):
        super().server_close()
        self._pool.shutdown(wait=True)
