"""The server under clients that are slow, malformed or too demanding: each
is refused or cut off within a bound, with a JSON error, and the others are
still served."""

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.common import image_io
from pix2pix_tf.serving import cli
from tests.support.paths import REPO_ROOT
from tests.support.serving import jpeg_claiming, png_bomb, post_json, request, start_server, trained_run

PREDICT = "v1/models/pix2pix:predict"
BOMB_SIDE = 12000


def resident_bytes():
    """This process's resident memory (the server runs in it), from /proc."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def raw_exchange(address, data, timeout=10):
    """Sends raw bytes, returns (status, headers text, body) of the answer."""
    with socket.create_connection(address, timeout=timeout) as connection:
        connection.sendall(data)
        answer = connection.makefile("rb").read()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, _, headers = head.decode("latin-1").partition("\r\n")
    return int(status_line.split()[1]), headers, body


@contextlib.contextmanager
def dripping_clients(address, count, interval=0.5):
    """`count` connections each sending its request head one byte every
    `interval` seconds, for as long as the block runs."""
    stop = threading.Event()
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 1000

    def drip():
        try:
            with socket.create_connection(address, timeout=30) as connection:
                for byte in head:
                    if stop.wait(interval):
                        return
                    connection.sendall(bytes([byte]))
        except OSError:  # Cut off by the server: what it should do in time.
            pass

    threads = [threading.Thread(target=drip, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)


@pytest.mark.exclusive  # Timings in seconds: other test processes on the two cores would skew them.
class HostileClientsTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix="hostile_clients_test_")
        cls.run_dir = trained_run(cls.root)
        cls.server, cls.stop = start_server(cls.run_dir, max_request_mb=4, max_batch=4,
                                            header_timeout=3, body_timeout=2)
        cls.url = cls.server.url
        cls.address = cls.server.server_address[:2]
        cls.image = image_io.encode(np.full((32, 32, 3), 90, np.uint8))

    @classmethod
    def tearDownClass(cls):
        cls.stop()
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def assert_json_error(self, status, body, expected):
        if isinstance(expected, int):
            expected = (expected,)
        self.assertIn(status, expected, body[:300])
        self.assertIsInstance(json.loads(body)["error"], str)

    def assert_still_serving(self):
        status, _, body = request(self.url + "translate", self.image)
        self.assertEqual(status, 200, body[:300])

    # --- slow clients

    def test_ten_dripping_clients_do_not_starve_a_normal_one(self):
        with dripping_clients(self.address, 10):
            time.sleep(1)  # Every dripping connection is open and sending.
            start = time.monotonic()
            status, _, body = request(self.url + "healthz")
            self.assertEqual((status, json.loads(body)), (200, {"status": "ok"}))
            self.assert_still_serving()
            self.assertLess(time.monotonic() - start, 5)

    def test_a_request_head_has_a_whole_deadline_not_a_per_byte_one(self):
        with socket.create_connection(self.address, timeout=20) as connection:
            start = time.monotonic()
            closed_after = None
            for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 100:
                try:
                    connection.sendall(bytes([byte]))
                    time.sleep(0.5)
                    connection.setblocking(False)
                    try:
                        if connection.recv(1024) == b"":
                            closed_after = time.monotonic() - start
                            break
                    except BlockingIOError:
                        pass
                    finally:
                        connection.setblocking(True)
                except OSError:
                    closed_after = time.monotonic() - start
                    break
        self.assertIsNotNone(closed_after, "the dripping connection was never closed")
        self.assertLess(closed_after, 3 + 2)  # header_timeout=3

    def test_a_body_shorter_than_its_length_is_answered_408_in_time(self):
        start = time.monotonic()
        status, _, body = raw_exchange(
            self.address, b"POST /translate HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
            + b"x" * 10)
        self.assert_json_error(status, body, 408)
        self.assertLess(time.monotonic() - start, 2 + 3)  # body_timeout=2
        self.assert_still_serving()

    # --- work per request

    def test_a_png_bomb_is_refused_from_its_header_without_the_memory(self):
        bomb = png_bomb(BOMB_SIDE, BOMB_SIDE)
        before = resident_bytes()
        status, _, body = request(self.url + "translate", bomb)
        self.assert_json_error(status, body, 413)
        self.assertIn("megapixels", json.loads(body)["error"])
        status, body = post_json(self.url + PREDICT, {"instances": [
            {"b64": base64.b64encode(bomb).decode()}]})
        self.assertEqual(status, 413, body)
        self.assertLess(resident_bytes() - before, 200 * 2 ** 20)
        self.assert_still_serving()

    def test_a_jpeg_claiming_a_huge_size_is_refused_at_once(self):
        jpeg = jpeg_claiming(BOMB_SIDE, BOMB_SIDE)
        start = time.monotonic()
        status, _, body = request(self.url + "translate", jpeg)
        self.assert_json_error(status, body, 413)
        self.assertLess(time.monotonic() - start, 1)

    def test_more_instances_than_max_batch_are_refused(self):
        instance = {"b64": base64.b64encode(self.image).decode()}
        status, body = post_json(self.url + PREDICT, {"instances": [instance] * 5})
        self.assertEqual(status, 413, body)
        self.assertIn("--max_batch", body["error"])
        status, body = post_json(self.url + PREDICT, {"instances": [instance] * 4})
        self.assertEqual(status, 200)
        self.assertLen(body["predictions"], 4)

    # --- malformed requests: JSON 4xx, never a traceback or an HTML page

    def test_malformed_bodies_and_paths_are_client_errors(self):
        deep = b"[" * 100_000 + b"]" * 100_000
        status, _, body = request(self.url + PREDICT, deep)
        self.assert_json_error(status, body, 400)
        status, _, body = request(self.url + "v1/models/pix2pix/versions/" + "5" * 5000)
        self.assert_json_error(status, body, 404)
        self.assert_still_serving()

    def test_protocol_errors_are_answered_as_json(self):
        cases = [
            (b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", (405, 501)),
            (b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", (400, 405, 501)),
            (b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", 431),
            (b"GET /caf\xe9 HTTP/1.1\r\nHost: x\r\n\r\n", (400, 404)),
        ]
        for data, expected in cases:
            with self.subTest(data=data[:30]):
                status, headers, body = raw_exchange(self.address, data)
                self.assert_json_error(status, body, expected)
                self.assertIn("application/json", headers.lower())
        self.assert_still_serving()

    def test_a_server_fault_is_500_without_internals(self):
        failure = RuntimeError(f"secret detail in {self.run_dir}")
        with mock.patch.object(self.server.model, "translate", side_effect=failure):
            status, _, body = request(self.url + "translate", self.image)
        self.assert_json_error(status, body, 500)
        self.assertNotIn(b"RuntimeError", body)
        self.assertNotIn(b"secret", body)
        self.assert_still_serving()

    def test_no_python_version_or_local_path_is_told(self):
        status, headers, body = request(self.url + "info")
        self.assertEqual(status, 200)
        self.assertNotIn("Python", headers.get("Server", ""))
        self.assertNotIn("aiohttp", headers.get("Server", ""))
        self.assertNotIn(os.path.abspath(self.root), body.decode())
        self.assertNotIn("export_dir", json.loads(body))

    def test_only_loopback_addresses_count_as_this_machines_alone(self):
        for host, expected in (("127.0.0.1", True), ("::1", True), ("0.0.0.0", False),
                               ("192.168.1.5", False), ("::", False)):
            self.assertEqual(cli.is_loopback(host), expected, host)

    # --- stopping

    def test_stopping_answers_the_request_under_way_and_cuts_slow_ones(self):
        server, stop = start_server(self.run_dir, header_timeout=30)
        address = server.server_address[:2]
        translate = server.model.translate

        def slow_translate(image):  # Keeps the request under way while the server stops.
            time.sleep(1.5)
            return translate(image)

        with mock.patch.object(server.model, "translate", side_effect=slow_translate), \
                socket.create_connection(address, timeout=20) as under_way, \
                dripping_clients(address, 3):
            under_way.sendall(b"POST /translate HTTP/1.1\r\nHost: x\r\nContent-Length: "
                              + str(len(self.image)).encode() + b"\r\n\r\n" + self.image)
            time.sleep(0.5)
            stopping = threading.Thread(target=stop)
            start = time.monotonic()
            stopping.start()
            answer = under_way.makefile("rb").read()
            stopping.join(15)
        self.assertFalse(stopping.is_alive(), "the server did not stop")
        self.assertLess(time.monotonic() - start, 10)
        self.assertIn(b" 200 ", answer.split(b"\r\n")[0])
        self.assertTrue(answer.split(b"\r\n\r\n", 1)[1].startswith(b"\x89PNG"))

    def test_sigterm_with_a_dripping_client_exits_143_in_time(self):
        process = subprocess.Popen(
            [sys.executable, "-m", "pix2pix_tf.serving", "--model", self.run_dir, "--port", "0"],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(process.kill)
        for line in process.stdout:
            if line.startswith("open http://"):
                break
        host, port = line.split()[1].rstrip("/").rsplit("/", 1)[1].rsplit(":", 1)
        with dripping_clients((host, int(port)), 1):
            time.sleep(1)
            start = time.monotonic()
            process.send_signal(signal.SIGTERM)
            stdout, stderr = process.communicate(timeout=10)
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual(process.returncode, 143, stderr[-2000:])
        self.assertIn("stopped by SIGTERM", stdout)
        self.assertNotIn("Traceback", stderr)


if __name__ == "__main__":
    tf.test.main()
