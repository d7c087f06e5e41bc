"""The HTTP side of `pix2pix_tf.serving`: TensorFlow Serving's REST API, raw
image translation for curl, and the web page, on aiohttp's event loop.

    POST /v1/models/pix2pix:predict   {"instances": [{"b64": ...}]} -> {"predictions": [{"b64": ...}]}
                                      ({"inputs": [...]} -> {"outputs": [...]}, the columnar form)
    POST /translate                   PNG/JPEG bytes -> image bytes
    GET  /v1/models/pix2pix           {"model_version_status": [...]}, as TF Serving answers
    GET  /healthz                     {"status": "ok"}
    GET  /                            the page; /static/NAME its files; /info and
                                      /examples/N.png what it shows

Every answer but the page's files and images is JSON; errors are
{"error": "..."} with a 4xx status when the request is at fault (400 bad
JSON or image, 404 unknown path, 405 wrong method, 408 too slow, 411 no
Content-Length, 413 too large, 414/431 request line or header too long, 501
unknown method) and 500, without details, for a failure of the server, which
goes on serving.

One event loop holds every connection, so slow clients cost a socket each,
not a thread: the request's head must arrive within `header_timeout` of the
connection (aiohttp's keep-alive timer, which starts with the connection) and
its body within `body_timeout` of the head, as wholes, not per byte. Model
calls run one at a time on a worker thread.
"""

import asyncio
import base64
import binascii
import concurrent.futures
import dataclasses
import json
import mimetypes
import os
import re
import socket
import threading

from aiohttp import http_exceptions, web

from pix2pix_tf.common import image_io
from pix2pix_tf.serving.model import BadImage, image_type

MODEL_NAME = "pix2pix"
SERVER_NAME = "pix2pix_tf"  # The Server header: no library or Python version.
WEB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web")
# Methods routed to the paths (405 where a path lacks one); any other is 501.
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")
# /v1/models/pix2pix, .../versions/N, each optionally followed by :predict.
MODEL_PATH = re.compile(r"/v1/models/([^/:]+)(?:/versions/(\d+))?(:predict)?")
MAX_VERSION_DIGITS = 18  # Longer "versions" name no model; int() of 5,000 digits raises.
SHUTDOWN_GRACE = 5.0  # Seconds the requests under way get to finish once stopping.


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one request may cost.

    Attributes:
        max_request_bytes: bodies over this size get 413 without being read.
        max_pixels: images whose header announces more get 413 undecoded.
        max_batch: predict requests with more instances get 413.
        header_timeout: seconds from connection to the end of the request's head.
        body_timeout: seconds from the head to the end of the body.
    """

    max_request_bytes: int = 16 * 2 ** 20
    max_pixels: int = 16_000_000
    max_batch: int = 64
    header_timeout: float = 10.0
    body_timeout: float = 60.0


class HTTPError(Exception):
    """A request the server refuses: answered as {"error": message} with `status`."""

    def __init__(self, status, message, headers=()):
        super().__init__(message)
        self.status = status
        self.headers = dict(headers)


def json_response(value, status=200, headers=()):
    """A JSON response that closes its connection (see _finish)."""
    return _finish(web.Response(status=status, content_type="application/json",
                                text=json.dumps(value) + "\n", headers=dict(headers)))


def _finish(response):
    response.headers["Server"] = SERVER_NAME
    response.headers["Cache-Control"] = "no-store"
    # One request per connection: the head's deadline then covers every request.
    response.force_close()
    return response


# ---------------------------------------------------------------- predict bodies

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


def parse_predict_request(body, max_batch=Limits.max_batch):
    """A REST predict body -> (list of image bytes, the response's key).

    Raises:
        HTTPError: 400 for a malformed body, 413 for more than max_batch images.
    """
    try:
        request = json.loads(body)
    except RecursionError as e:
        raise HTTPError(400, "the body's JSON is nested too deeply") from e
    except (UnicodeDecodeError, ValueError) as e:
        raise HTTPError(400, f"the body is not JSON: {e}") from e
    if not isinstance(request, dict):
        raise HTTPError(400, 'the body must be a JSON object with "instances" or "inputs"')
    signature = request.get("signature_name", "serving_default")
    if signature != "serving_default":
        raise HTTPError(400, f"unknown signature_name {str(signature)[:100]!r}: this server "
                             "has serving_default")
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
    if len(items) > max_batch:
        raise HTTPError(413, f"{len(items)} images in one request, more than the limit of "
                             f"{max_batch} (--max_batch)")
    return [_decode_b64(item, f"image {i}") for i, item in enumerate(items)], key


def read_web_files(folder=WEB_DIR):
    """{name: bytes} of the page's files, read once: no disk access per request."""
    files = {}
    for name in os.listdir(folder):  # Local: the package's web/ assets.
        with open(os.path.join(folder, name), "rb") as f:
            files[name] = f.read()
    return files


# ---------------------------------------------------------------- requests

class Routes:
    """The server's answers: the aiohttp handler and what it routes to.

    Args:
        model: a serving.model.ServedModel.
        limits: the Limits of a request.
        log: where request lines and errors go, one line each.
    """

    def __init__(self, model, limits, log):
        self.model = model
        self.limits = limits
        self.log = log
        # One worker: ServedModel calls the model one at a time anyway, and
        # image decoding stays off the event loop.
        self.executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="serve")
        self.web_files = read_web_files()

    async def handle(self, request):
        """aiohttp's handler: every request, every error as JSON."""
        try:
            response = await self._dispatch(request)
        except HTTPError as e:
            response = json_response({"error": str(e)}, e.status, e.headers)
        except Exception as e:  # A bug or a model failure: log it, tell no internals.
            self.log(f"error in {request.method} {request.path}: {type(e).__name__}: "
                     f"{' '.join(str(e).split())[:300]}")
            response = json_response({"error": "internal server error"}, 500)
        self.log(f"{request.remote} {request.method} {request.path} {response.status}")
        return _finish(response)

    def _route(self, path):
        """{method: coroutine function} of `path`; HTTPError 404 if it has none."""
        if path == "/":
            return {"GET": lambda request: self._file("index.html")}
        if path.startswith("/static/"):
            name = path[len("/static/"):]
            if name in self.web_files and name != "index.html":
                return {"GET": lambda request: self._file(name)}
        if path == "/healthz":
            return {"GET": lambda request: self._value({"status": "ok"})}
        if path == "/info":
            return {"GET": lambda request: self._value(self.info())}
        match = re.fullmatch(r"/examples/(\d{1,6})\.png", path)
        if match and int(match.group(1)) < len(self.model.examples):
            return {"GET": lambda request: self._example(int(match.group(1)))}
        if path == "/translate":
            return {"POST": self._translate}
        match = MODEL_PATH.fullmatch(path)
        if match:
            name, version, predict = match.groups()
            if name != MODEL_NAME or (version is not None and not self._serves(version)):
                raise HTTPError(404, f"Servable not found for request: {name[:100]}"
                                + (f" version {version[:100]}" if version else "")
                                + f"; this server has {MODEL_NAME} version {self.model.version}")
            return {"POST": self._predict} if predict else {"GET": lambda request: self._value(
                self.status())}
        raise HTTPError(404, f"no such path: {path[:200]}")

    def _serves(self, version):
        return len(version) <= MAX_VERSION_DIGITS and int(version) == self.model.version

    async def _dispatch(self, request):
        method = request.method
        routes = self._route(request.path)
        function = routes.get("GET" if method == "HEAD" else method)
        if function is None:
            raise HTTPError(405, f"{method} is not allowed here; use {', '.join(routes)}",
                            {"Allow": ", ".join(routes)})
        return await function(request)

    # --- bodies

    def body_length(self, request):
        """The request's Content-Length; HTTPError if missing, bad or over the limit."""
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            raise HTTPError(411, "chunked bodies are not supported: send a Content-Length")
        length = request.content_length
        if length is None:
            raise HTTPError(411, "a Content-Length header is required")
        limit = self.limits.max_request_bytes
        if length > limit:
            raise HTTPError(413, f"the body is {length} bytes, more than the limit of {limit} "
                                 "(--max_request_mb)")
        return length

    async def body(self, request):
        """The request body, checked against the size limit before it is read,
        and refused with 408 unless it arrives whole within body_timeout."""
        length = self.body_length(request)
        timeout = self.limits.body_timeout
        expired = []

        # The deadline ends the stream rather than cancelling the read, which
        # would leave aiohttp's reader waiting on a connection it no longer serves.
        def expire():
            expired.append(True)
            request.content.feed_eof()

        timer = asyncio.get_running_loop().call_later(timeout, expire)
        try:
            body = await request.read()
        except (http_exceptions.HttpProcessingError, ConnectionError) as e:
            raise HTTPError(400, "the body ended before its Content-Length") from e
        finally:
            timer.cancel()
        if expired:
            raise HTTPError(408, f"the body did not arrive within {timeout:g} s")
        if len(body) < length:
            raise HTTPError(400, f"the body ended after {len(body)} of {length} bytes")
        return body

    # --- answers

    @staticmethod
    async def _value(value):
        return json_response(value)

    async def _file(self, name):
        body = self.web_files[name]
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        charset = "utf-8" if content_type.startswith("text/") or content_type.endswith(
            "javascript") else None
        return web.Response(body=body, content_type=content_type, charset=charset)

    async def _example(self, index):
        return web.Response(body=self.model.examples[index][1], content_type="image/png")

    async def translate_one(self, image, where):
        """Image bytes -> translated bytes: the pixel count read from the
        header first, then the model's call on the worker thread."""
        try:
            image_io.check_pixels(*image_io.image_size_from_header(image), self.limits.max_pixels)
        except image_io.TooManyPixels as e:
            raise HTTPError(413, f"{where}: {e} (--max_pixels)") from e
        except ValueError:
            pass  # Not a PNG or JPEG: the model's check names what it is, without decoding it.
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.executor, self.model.translate, image)
        except BadImage as e:
            raise HTTPError(400, f"{where}: {e}") from e

    async def _translate(self, request):
        output = await self.translate_one(await self.body(request), "the body")
        return web.Response(body=output, content_type=image_type(output))

    async def _predict(self, request):
        images, key = parse_predict_request(await self.body(request), self.limits.max_batch)
        # One model call per image: batch norm normalises with the statistics
        # of the batch, so an image's output must not depend on its neighbours.
        outputs = [await self.translate_one(image, f"image {i}") for i, image in enumerate(images)]
        return json_response({key: [{"b64": base64.b64encode(x).decode("ascii")}
                                    for x in outputs]})

    def status(self):
        """TF Serving's answer to GET /v1/models/pix2pix."""
        return {"model_version_status": [{
            "version": str(self.model.version), "state": "AVAILABLE",
            "status": {"error_code": "OK", "error_message": ""}}]}

    def info(self):
        """What the page shows and offers (no local paths: the page may be remote)."""
        return {"model": MODEL_NAME, "version": self.model.version, "size": self.model.size,
                "input": dict(self.model.domain, half=self.model.half),
                "examples": [{"name": name, "url": f"/examples/{i}.png"}
                             for i, (name, _) in enumerate(self.model.examples)]}

    async def expect_continue(self, request):
        """aiohttp's Expect hook: refuses a body announced over the limit
        before the client sends it, else lets it come (curl waits for this)."""
        try:
            self.body_length(request)
        except HTTPError as e:
            return json_response({"error": str(e)}, e.status)
        if request.headers.get("Expect", "").lower() != "100-continue":
            return json_response({"error": "only Expect: 100-continue is understood"}, 417)
        # The interim answer, as aiohttp's documentation writes it in its own example.
        request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return None


@web.middleware
async def _aiohttp_errors_as_json(request, handler):
    """aiohttp's own refusals (a path its router cannot take, a body over
    client_max_size) as JSON too."""
    if request.method not in METHODS:  # Before routing: CONNECT's target is no path.
        return json_response({"error": f"{request.method[:20]} is not a method this server "
                                       "implements"}, 501)
    try:
        return await handler(request)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        return json_response({"error": e.reason}, e.status)


# ---------------------------------------------------------------- connections

def _parse_error_status(exc):
    """The status of a request aiohttp's parser refused: 414 for a request
    line too long, 431 for a header too long, 501 for an unknown method
    token, else 400."""
    if isinstance(exc, http_exceptions.LineTooLong):
        # The parser reports the start of the offending text: a request
        # target starts with "/" (or a scheme); a header line cannot.
        line = exc.args[0] if exc.args else b""
        line = bytes(line) if isinstance(line, (bytes, bytearray)) else str(line).encode()
        return 414 if line.startswith(b"/") or b"://" in line[:20] else 431
    if isinstance(exc, http_exceptions.BadHttpMethod):
        return 501
    return 400


_PARSE_ERROR_MESSAGES = {
    400: "a malformed request", 414: "the request line is too long",
    431: "a request header is too long, or there are too many",
    501: "not a method this server implements"}


class Connection(web.RequestHandler):
    """aiohttp's connection handler, answering the requests its parser
    refuses as JSON (its own answers are text)."""

    def __init__(self, manager, *, log, **kwargs):
        super().__init__(manager, **kwargs)
        self._log = log

    def handle_error(self, request, status=500, exc=None, message=None):
        """aiohttp's answer to a request it could not parse or handle, as JSON."""
        if status == 500:
            self._log(f"error in a request: {type(exc).__name__ if exc else 'unknown'}")
            text = "internal server error"
        else:
            status = _parse_error_status(exc) if status == 400 else status
            text = _PARSE_ERROR_MESSAGES.get(status, "a bad request")
        return json_response({"error": text}, status)


# ---------------------------------------------------------------- the server

class Server:
    """The HTTP server: binds at once, serves in serve_forever() (on the
    calling thread, which runs the event loop) until shutdown().

    Args:
        address: (host, port); port 0 takes a free port (see `url`).
        model: a serving.model.ServedModel.
        limits: the Limits of a request.
        log: where request lines and errors go.
    Raises:
        OSError: the address cannot be bound.
    """

    def __init__(self, address, model, limits=Limits(), log=print):
        self.model = model
        self.limits = limits
        self.log = log
        self.routes = Routes(model, limits, log)
        self._socket = socket.create_server(address, family=_family(address[0]), backlog=128)
        self.server_address = self._socket.getsockname()
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._lock = threading.Lock()
        self._running = self._closing = False
        self._stopped = threading.Event()

    @property
    def url(self):
        host, port = self.server_address[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    def _application(self):
        app = web.Application(middlewares=[_aiohttp_errors_as_json],
                              client_max_size=self.limits.max_request_bytes)
        app.router.add_route("*", "/{path:.*}", self.routes.handle,
                             expect_handler=self.routes.expect_continue)
        return app

    async def _serve(self):
        loop = asyncio.get_running_loop()
        runner = web.AppRunner(self._application(), handle_signals=False, access_log=None,
                               shutdown_timeout=SHUTDOWN_GRACE)
        await runner.setup()
        # aiohttp's keep-alive timer starts with the connection and does not
        # restart on the bytes of a request's head, so it is the head's
        # deadline; responses close their connection, so no second one starts.
        listener = await loop.create_server(
            lambda: Connection(runner.server, loop=loop, log=self.log, access_log=None,
                               keepalive_timeout=self.limits.header_timeout),
            sock=self._socket)
        try:
            await self._stop.wait()
        finally:
            listener.close()  # No new connections; those open finish or are cut (cleanup).
            await runner.cleanup()

    def serve_forever(self):
        """Serves until shutdown() is called (from another thread); once only."""
        with self._lock:
            if self._closing or self._running:
                return
            self._running = True
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()
            self._stopped.set()

    def shutdown(self):
        """Stops serve_forever: idle and slow connections close at once, the
        requests under way get SHUTDOWN_GRACE seconds. Waits for it."""
        with self._lock:
            self._closing = True
            running = self._running
        if running and not self._stopped.is_set():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._stopped.wait()

    def server_close(self):
        """Releases the socket and the model's worker thread (model calls not
        yet started are dropped)."""
        self._socket.close()
        self.routes.executor.shutdown(wait=False, cancel_futures=True)
        if not self._running:
            self._loop.close()


def _family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET
