"""Serve a trained pix2pix model over HTTP: TensorFlow Serving's REST API,
raw images for curl, and a web page to draw on.

    python -m pix2pix_tf.serving --model facades_train
    curl --data-binary @labels.png -o photo.png http://127.0.0.1:8000/translate
"""

import dataclasses
import ipaddress
import sys
import threading

from absl import app, flags

from pix2pix_tf.common import options as common_options
from pix2pix_tf.common import quiet
from pix2pix_tf.common.errors import UserError, run_reporting_user_errors

flags.DEFINE_string("model", None, "A training run's output folder (exported first if it has no "
                    "export), an export folder of numbered versions (the highest is served), or "
                    "one SavedModel folder.")
flags.DEFINE_string("host", "127.0.0.1", "Address to listen on (0.0.0.0: every interface; the "
                    "server has no authentication).")
flags.DEFINE_integer("port", 8000, "Port to listen on (0: any free port).")
flags.DEFINE_float("max_request_mb", 16, "Largest request body accepted, in MiB (413 beyond).")
flags.DEFINE_integer("max_pixels", 16_000_000, "Largest image accepted, in pixels, read from its "
                     "header before decoding (413 beyond).")
flags.DEFINE_integer("max_batch", 64, "Most images in one predict request (413 beyond).")
flags.DEFINE_float("header_timeout", 10, "Seconds a client has, from connecting, to send a "
                   "request's line and headers (the connection closes after).")
flags.DEFINE_float("body_timeout", 60, "Seconds a client has, after the headers, to send the "
                   "whole body (408 after).")
flags.DEFINE_string("examples_dir", None, "Folder of example inputs for the web page (default: "
                    "the run's validation folder, DATA/val beside its DATA/train, when it exists).")
flags.DEFINE_boolean("verbose", False, "Show TensorFlow's own log lines (start-up notices, warnings).")

FLAGS = flags.FLAGS
FLAG_NAMES = ("model", "host", "port", "max_request_mb", "max_pixels", "max_batch",
              "header_timeout", "body_timeout", "examples_dir", "verbose")


@dataclasses.dataclass
class Served:
    """What serve() returns: `stopped` names the signal that stopped it (the
    entry point then exits with 128 + that signal, as training does)."""

    stopped: str | None = None


def _check_positive(**values):
    for name, value in values.items():
        if value <= 0:
            raise UserError(f"--{name} must be positive, not {value}")


def make_server(model: str, host: str = "127.0.0.1", port: int = 8000,
                max_request_mb: float = 16, examples_dir: str | None = None, log=print,
                max_pixels: int = 16_000_000, max_batch: int = 64, header_timeout: float = 10,
                body_timeout: float = 60):
    """Loads --model and binds the server, without serving yet.

    Returns:
        an app.Server: `serve_forever()` serves, `url` is its address.
    Raises:
        UserError: a bad --model, --examples_dir or limit, or an address in use.
    """
    _check_positive(max_request_mb=max_request_mb, max_pixels=max_pixels, max_batch=max_batch,
                    header_timeout=header_timeout, body_timeout=body_timeout)
    # TensorFlow loads here, once the flags parsed: --help and a bad flag answer at once.
    from pix2pix_tf.serving import app as http_app
    from pix2pix_tf.serving import model as served_model

    served = served_model.ServedModel.load(model, examples_dir, log)
    limits = http_app.Limits(max_request_bytes=int(max_request_mb * 2 ** 20),
                             max_pixels=max_pixels, max_batch=max_batch,
                             header_timeout=header_timeout, body_timeout=body_timeout)
    try:
        return http_app.Server((host, port), served, limits, log)
    except OSError as e:
        raise UserError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e


def is_loopback(host: str) -> bool:
    """Whether a bound address is this machine's alone (127.0.0.0/8, ::1)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(model: str, host: str = "127.0.0.1", port: int = 8000, max_request_mb: float = 16,
          examples_dir: str | None = None, log=print, **limits) -> Served:
    """Serves until Ctrl-C or SIGTERM, then finishes the requests under way
    (for app.SHUTDOWN_GRACE seconds at most) and returns."""
    from pix2pix_tf.common.checkpoints import StopRequests  # TensorFlow too, as make_server's.

    httpd = make_server(model, host, port, max_request_mb, examples_dir, log, **limits)
    examples = f", {len(httpd.model.examples)} examples" if httpd.model.examples else ""
    log(f"serving {httpd.model.export_dir} (version {httpd.model.version}, "
        f"{httpd.model.size}x{httpd.model.size}{examples})")
    bound = httpd.server_address[0]
    if not is_loopback(bound):
        log(f"warning: listening on {bound}, beyond this machine: anyone who can reach it can "
            "use the server, which has no authentication")
    log(f"open {httpd.url} (Ctrl-C stops)")
    with StopRequests() as stop:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        while stop.requested is None and thread.is_alive():
            thread.join(0.2)
    httpd.shutdown()
    httpd.server_close()
    log(f"stopped by {stop.requested}" if stop.requested else "stopped")
    return Served(stopped=stop.requested)


def main(argv):
    del argv  # common_options.flags_parser refused stray arguments.
    quiet.load_tensorflow(FLAGS.verbose)
    values = {name: FLAGS[name].value for name in FLAG_NAMES if name != "verbose"}
    run_reporting_user_errors(serve, log=lambda line: print(line, flush=True), **values)


def entry():
    """The pix2pix-serve command (console_scripts) and python -m pix2pix_tf.serving."""
    # --help lists the flags of sys.argv[0]'s module, which for the installed
    # command is its script, not this module.
    for name in FLAG_NAMES:
        FLAGS.register_key_flag_for_module(sys.argv[0], FLAGS[name])
    app.run(main, flags_parser=common_options.flags_parser())
