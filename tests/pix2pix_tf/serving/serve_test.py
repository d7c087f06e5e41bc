import base64
import concurrent.futures
import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow as tf
from PIL import Image

from pix2pix_tf import export, palettes
from pix2pix_tf.common import files, image_io
from pix2pix_tf.common.errors import UserError
from pix2pix_tf.dataset_tools import synthetic_facades
from pix2pix_tf.serving import cli
from pix2pix_tf.serving import model as served_model
from tests.support import pix2pix as testing
from tests.support.paths import REPO_ROOT
from tests.support.serving import post_json, quiet, request, start_server, trained_run

PREDICT = "v1/models/pix2pix:predict"


def pixels(data):
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def photo(seed, height=40, width=50, extension=".png"):
    """The bytes of a random image file of another size than the model's."""
    image = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return image_io.encode(image, extension)


def b64(data):
    return {"b64": base64.b64encode(data).decode()}


class ServeTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix="serve_test_")
        cls.run_dir = trained_run(cls.root)
        # --model RUN: the run has no export yet, so the server makes one.
        cls.server, cls.stop = start_server(cls.run_dir, max_request_mb=0.05)
        cls.url = cls.server.url
        # What the SavedModel itself answers (the export's first version).
        saved = tf.saved_model.load(os.path.join(cls.run_dir, "export", "1"))
        cls.images = [photo(seed) for seed in range(4)] + [photo(9, 32, 32, ".jpg")]
        cls.expected = []
        for image in cls.images:
            response = saved.signatures["serving_default"](image_bytes=tf.constant([image]))
            cls.expected.append(pixels(response["output_bytes"][0].numpy()))

    @classmethod
    def tearDownClass(cls):
        cls.stop()
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def assert_error(self, status, expected_status, body):
        self.assertEqual(status, expected_status, body)
        self.assertIsInstance(json.loads(body)["error"], str)

    def assert_still_serving(self):
        status, headers, body = request(self.url + "translate", self.images[0])
        self.assertEqual(status, 200)
        self.assertAllEqual(pixels(body), self.expected[0])

    # --- which model

    def test_a_run_is_exported_once_and_its_export_served(self):
        version = os.path.join(self.run_dir, "export", "1")
        self.assertEqual(self.server.model.export_dir, version)
        self.assertTrue(os.path.isfile(os.path.join(version, "saved_model.pb")))
        self.assertEqual(self.server.model.size, 32)
        self.assertEqual(served_model.find_model(self.run_dir, log=self.fail),
                         version)  # No second export.

    def test_version_folders_the_highest_is_served(self):
        base = os.path.join(self.get_temp_dir(), "versions", "export")
        for version in ("1", "3"):
            shutil.copytree(os.path.join(self.run_dir, "export", "1"), os.path.join(base, version))
        os.makedirs(os.path.join(base, "10"))  # Not a SavedModel: not a version.
        self.assertEqual(served_model.find_model(base), os.path.join(base, "3"))
        self.assertEqual(served_model.find_model(os.path.join(base, "1")), os.path.join(base, "1"))

        server, stop = start_server(base)
        self.addCleanup(stop)
        status, _, body = request(server.url + "v1/models/pix2pix")
        self.assertEqual(json.loads(body), {"model_version_status": [{
            "version": "3", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]})
        status, body = post_json(server.url + "v1/models/pix2pix/versions/3:predict",
                                 {"instances": [b64(self.images[1])]})
        self.assertEqual(status, 200)
        self.assertAllEqual(pixels(base64.b64decode(body["predictions"][0]["b64"])), self.expected[1])
        status, body = post_json(server.url + "v1/models/pix2pix/versions/1:predict",
                                 {"instances": [b64(self.images[1])]})
        self.assertEqual(status, 404, body)
        self.assertEqual(served_model.run_of(os.path.join(base, "3")), None)

    def test_export_made_by_export_mode_is_served_with_the_runs_examples(self):
        out = os.path.join(self.get_temp_dir(), "exported")
        export.export(testing.tiny_options(mode="export", checkpoint=self.run_dir, output_dir=out),
                      log=quiet)
        model = served_model.ServedModel.load(os.path.join(out, "export"), log=quiet)
        self.assertEqual(model.examples, [])  # Not inside a run: its examples are unknown.
        model = served_model.ServedModel.load(
            os.path.join(out, "export"), examples_dir=os.path.join(self.root, "data", "val"), log=quiet)
        self.assertLen(model.examples, 3)
        self.assertAllEqual(pixels(model.translate(self.images[2])), self.expected[2])

    def test_the_input_domain_is_judged_from_the_examples(self):
        labels = [synthetic_facades.pair(3, 1, i, size=64)[:, 64:] for i in range(3)]
        edges = np.full((2, 40, 40, 3), 255, np.uint8)
        edges[:, 10:30, 12] = edges[:, 20, 5:35] = 0
        rng = np.random.default_rng(0)

        def domain(images, extension=".png"):
            return served_model.input_domain([("x", image_io.encode(image, extension))
                                              for image in images])

        for extension in (".png", ".jpg"):  # Label maps saved as JPEG stay label maps.
            found = domain(labels, extension)
            self.assertEqual((found["kind"], found["background"]), ("labels", "#0000aa"))
            self.assertEqual([label["name"] for label in found["labels"]],
                             list(palettes.FACADE_CLASSES))
            self.assertIn({"name": "wall", "colour": "#0000ff"}, found["labels"])
        self.assertEqual(domain(edges, ".jpg"), {"kind": "edges", "background": "#ffffff"})
        self.assertEqual(domain(255 - edges), {"kind": "edges", "background": "#000000"})
        photos = rng.integers(0, 256, (2, 40, 40, 3), dtype=np.uint8)
        self.assertEqual(domain(photos), {"kind": "photo"})
        # A photo with a few label-coloured pixels is still a photo.
        self.assertEqual(domain(list(photos) + labels[:1]), {"kind": "photo"})
        self.assertEqual(served_model.input_domain([]), {"kind": "unknown"})

    def test_the_input_half_of_a_pair_follows_the_models_direction(self):
        pair = np.arange(2 * 4 * 8 * 3, dtype=np.uint8).reshape(2, 4, 8, 3)
        for info, half, side in (({"which_direction": "AtoB"}, "left", pair[0, :, :4]),
                                 ({"which_direction": "BtoA"}, "right", pair[0, :, 4:]),
                                 ({"which_direction": "BtoA", "lab_colorization": True}, None,
                                  pair[0]),
                                 (None, None, pair[0])):
            self.assertEqual(served_model.input_half(info), half)
            self.assertAllEqual(served_model.input_side(pair[0], info), side)
        square = pair[0, :, :5]  # Narrower than 1.5 x its height: no pair.
        self.assertAllEqual(served_model.input_side(square, {"which_direction": "BtoA"}), square)

    def test_bad_model_folders_are_user_errors(self):
        empty = tempfile.mkdtemp(dir=self.get_temp_dir())
        cgan_run = tempfile.mkdtemp(dir=self.get_temp_dir())
        files.write_json(os.path.join(cgan_run, "options.json"), {"latent_dim": 100})
        for path, message in ((os.path.join(empty, "missing"), "does not exist"),
                              (empty, "neither a training run"),
                              (cgan_run, "not a pix2pix_tf training run"),
                              ("", "--model is required")):
            with self.assertRaisesRegex(UserError, message):
                served_model.find_model(path)

    def test_serving_does_not_import_the_dataset_generator(self):
        # The page's palette comes from pix2pix_tf.palettes, not from the synthetic dataset tool.
        result = subprocess.run(
            [sys.executable, "-c", "import sys, pix2pix_tf.serving.model, pix2pix_tf.serving.app; "
             "print(sorted(m for m in sys.modules if m.startswith('pix2pix_tf.dataset_tools')))"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        self.assertEqual(result.stdout.strip(), "[]")

    def test_an_address_in_use_is_a_user_error(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            with self.assertRaisesRegex(UserError, "cannot listen on 127.0.0.1:"):
                cli.make_server(self.run_dir, port=busy.getsockname()[1], log=quiet)

    def test_command_line_bad_model_is_one_error_line(self):
        result = subprocess.run([sys.executable, "-m", "pix2pix_tf.serving", "--model",
                                 os.path.join(self.root, "nowhere")],
                                cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 2)
        self.assertNotIn("Traceback", result.stderr)
        self.assertRegex(result.stderr.splitlines()[-1], r"^error: --model .*nowhere does not exist")

    # --- endpoints

    def test_translate_raw_png_and_jpeg(self):
        for image, expected in zip(self.images, self.expected):
            status, headers, body = request(self.url + "translate", image)
            self.assertEqual(status, 200)
            self.assertEqual(headers["Content-Type"], "image/png")
            self.assertEqual(pixels(body).shape, (32, 32, 3))
            self.assertAllEqual(pixels(body), expected)

    def test_predict_rows_and_columns_each_image_on_its_own(self):
        # Four images in one request give what each gives alone.
        status, body = post_json(self.url + PREDICT,
                                 {"instances": [b64(image) for image in self.images[:4]]})
        self.assertEqual(status, 200)
        self.assertEqual(list(body), ["predictions"])
        for prediction, expected in zip(body["predictions"], self.expected[:4], strict=True):
            self.assertAllEqual(pixels(base64.b64decode(prediction["b64"])), expected)
        # Web-safe base64, a named input, and the columnar form.
        websafe = {"b64": base64.urlsafe_b64encode(self.images[4]).decode().rstrip("=")}
        status, body = post_json(self.url + PREDICT, {"inputs": {"input": [websafe]},
                                                      "signature_name": "serving_default"})
        self.assertEqual(status, 200)
        self.assertAllEqual(pixels(base64.b64decode(body["outputs"][0]["b64"])), self.expected[4])
        status, body = post_json(self.url + PREDICT, {"instances": [{"input": b64(self.images[3])}]})
        self.assertAllEqual(pixels(base64.b64decode(body["predictions"][0]["b64"])), self.expected[3])

    def test_status_health_and_page(self):
        status, _, body = request(self.url + "v1/models/pix2pix")
        self.assertEqual(json.loads(body)["model_version_status"][0]["state"], "AVAILABLE")
        self.assertEqual(json.loads(body)["model_version_status"][0]["version"], "1")
        status, _, body = request(self.url + "healthz")
        self.assertEqual((status, json.loads(body)), (200, {"status": "ok"}))
        status, headers, body = request(self.url)
        self.assertEqual(status, 200)
        self.assertStartsWith(headers["Content-Type"], "text/html")
        page = body.decode()
        self.assertIn("<canvas", page)
        for asset in ("/static/app.js", "/static/style.css"):
            self.assertIn(asset, page)
            status, headers, body = request(self.url + asset.lstrip("/"))
            self.assertEqual(status, 200)
            self.assertGreater(len(body), 100)
        status, headers, body = request(self.url, method="HEAD")
        self.assertEqual((status, body), (200, b""))
        self.assertGreater(int(headers["Content-Length"]), 0)

    def test_info_and_examples_from_the_runs_validation_folder(self):
        status, _, body = request(self.url + "info")
        info = json.loads(body)
        self.assertEqual(info["size"], 32)
        # Smooth colour patterns, the A halves of AtoB pairs: neither label maps nor edges.
        self.assertEqual(info["input"], {"kind": "photo", "half": "left"})
        self.assertEqual([e["name"] for e in info["examples"]], ["1.png", "2.png", "3.png"])
        # The input side (A, which_direction AtoB) of the 32x64 pair.
        status, headers, body = request(self.url + info["examples"][1]["url"].lstrip("/"))
        self.assertEqual(headers["Content-Type"], "image/png")
        pair = image_io.read_rgb(os.path.join(self.root, "data", "val", "2.png"))
        self.assertAllEqual(pixels(body), pair[:, :32])
        status, _, body = request(self.url + "examples/3.png")
        self.assert_error(status, 404, body)

    # --- errors, each followed by a good request

    def test_bad_requests_get_json_errors_and_the_server_goes_on(self):
        gif = io.BytesIO()
        Image.new("RGB", (8, 8)).save(gif, format="GIF")
        cases = [
            ("translate", b"not an image", 400),
            ("translate", gif.getvalue(), 400),
            ("translate", self.images[0][:len(self.images[0]) // 2], 400),  # Truncated.
            ("translate", b"x" * 60000, 413),
            (PREDICT, b"{not json", 400),
            (PREDICT, b"[1, 2]", 400),
            (PREDICT, json.dumps({"instances": []}).encode(), 400),
            (PREDICT, json.dumps({"instances": [{"b64": "%%%"}]}).encode(), 400),
            (PREDICT, json.dumps({"instances": [b64(b"not an image")]}).encode(), 400),
            (PREDICT, json.dumps({"instances": ["no b64 key"]}).encode(), 400),
            (PREDICT, json.dumps({"instances": [b64(self.images[0])],
                                  "signature_name": "translate"}).encode(), 400),
            ("v1/models/other:predict", json.dumps({"instances": [b64(self.images[0])]}).encode(), 404),
            ("nowhere", b"", 404),
        ]
        for path, data, expected in cases:
            with self.subTest(path=path, data=data[:20]):
                status, _, body = request(self.url + path, data, method="POST")
                self.assert_error(status, expected, body)
                self.assert_still_serving()
        for path, method in (("translate", "GET"), (PREDICT, "GET"), ("", "POST"),
                             ("healthz", "DELETE"), ("v1/models/pix2pix", "PUT")):
            with self.subTest(path=path, method=method):
                status, headers, body = request(self.url + path, b"" if method != "GET" else None,
                                                method=method)
                self.assert_error(status, 405, body)
                self.assertTrue(headers["Allow"])
                self.assert_still_serving()

    def test_a_body_announced_over_the_limit_is_refused_unread(self):
        host, port = self.server.server_address[:2]
        connection = http.client.HTTPConnection(host, port, timeout=30)
        connection.putrequest("POST", "/translate")
        connection.putheader("Content-Length", str(17 * 2 ** 20))
        connection.endheaders()  # The body is never sent: the answer must not wait for it.
        response = connection.getresponse()
        self.assert_error(response.status, 413, response.read())
        connection.close()
        # The same, asking first whether to send it (as curl does for large bodies).
        connection = http.client.HTTPConnection(host, port, timeout=30)
        connection.putrequest("POST", "/v1/models/pix2pix:predict")
        connection.putheader("Content-Length", str(17 * 2 ** 20))
        connection.putheader("Expect", "100-continue")
        connection.endheaders()
        response = connection.getresponse()
        self.assert_error(response.status, 413, response.read())
        connection.close()
        # No Content-Length at all.
        with socket.create_connection((host, port), timeout=30) as raw:
            raw.sendall(b"POST /translate HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = raw.makefile("rb").read()
        self.assertIn(b" 411 ", answer.split(b"\r\n")[0])
        self.assert_still_serving()

    def test_eight_concurrent_requests_all_answered_correctly(self):
        def one(i):
            image = i % len(self.images)
            if i % 2:
                status, _, body = request(self.url + "translate", self.images[image])
                return image, status, body
            status, body = post_json(self.url + PREDICT, {"instances": [b64(self.images[image])]})
            return image, status, base64.b64decode(body["predictions"][0]["b64"])

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(one, range(8)))
        for image, status, body in results:
            self.assertEqual(status, 200)
            self.assertAllEqual(pixels(body), self.expected[image])

    def test_command_line_prints_the_url_and_stops_cleanly_on_sigterm(self):
        process = subprocess.Popen(
            [sys.executable, "-m", "pix2pix_tf.serving", "--model", self.run_dir, "--port", "0"],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(process.kill)
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("open http://"):
                break
        url = lines[-1].split()[1]
        self.assertRegex(url, r"^http://127\.0\.0\.1:\d+/$")
        status, _, body = request(url + "translate", self.images[1])
        self.assertAllEqual(pixels(body), self.expected[1])
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
        # 128 + SIGTERM, as a training run stopped by SIGTERM exits: a scheduler sees it stopped.
        self.assertEqual(process.returncode, 143, stderr)
        self.assertIn("stopped by SIGTERM", stdout)
        self.assertNotIn("Traceback", stderr)


if __name__ == "__main__":
    tf.test.main()
