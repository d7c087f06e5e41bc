"""Serve a trained pix2pix model over HTTP: TensorFlow Serving's REST API,
raw images for curl, and a web page to draw on.

    python -m pix2pix_tf.serving --model facades_train
    curl --data-binary @labels.png -o photo.png http://127.0.0.1:8000/translate
"""

import os
import sys
import threading

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

from pix2pix_tf.common import options as common_options  # noqa: E402
from pix2pix_tf.common.errors import UserError, run_reporting_user_errors  # noqa: E402

flags.DEFINE_string("model", None, "A training run's output folder (exported first if it has no "
                    "export), an export folder of numbered versions (the highest is served), or "
                    "one SavedModel folder.")
flags.DEFINE_string("host", "127.0.0.1", "Address to listen on (0.0.0.0: every interface).")
flags.DEFINE_integer("port", 8000, "Port to listen on (0: any free port).")
flags.DEFINE_float("max_request_mb", 16, "Largest request body accepted, in MiB (413 beyond).")
flags.DEFINE_string("examples_dir", None, "Folder of example inputs for the web page (default: "
                    "the run's validation folder, DATA/val beside its DATA/train, when it exists).")

FLAGS = flags.FLAGS


def make_server(model, host="127.0.0.1", port=8000, max_request_mb=16, examples_dir=None,
                log=print):
    """Loads --model and binds the server, without serving yet.

    Returns:
        an app.Server: `serve_forever()` serves, `url` is its address.
    Raises:
        UserError: a bad --model or --examples_dir, or an address in use.
    """
    if max_request_mb <= 0:
        raise UserError(f"--max_request_mb must be positive, not {max_request_mb}")
    # TensorFlow loads here, once the flags parsed: --help and a bad flag answer at once.
    from pix2pix_tf.serving import app, model as served_model

    served = served_model.ServedModel.load(model, examples_dir, log)
    try:
        return app.Server((host, port), served, max_request_mb * 2 ** 20, log)
    except OSError as e:
        raise UserError(f"cannot listen on {host}:{port}: {e.strerror}") from e


def serve(model, host="127.0.0.1", port=8000, max_request_mb=16, examples_dir=None, log=print):
    """Serves until Ctrl-C or SIGTERM, then finishes the requests under way and returns."""
    from pix2pix_tf.common.checkpoints import StopRequests  # TensorFlow too, as make_server's.

    httpd = make_server(model, host, port, max_request_mb, examples_dir, log)
    examples = f", {len(httpd.model.examples)} examples" if httpd.model.examples else ""
    log(f"serving {httpd.model.export_dir} (version {httpd.model.version}, "
        f"{httpd.model.size}x{httpd.model.size}{examples})")
    log(f"open {httpd.url} (Ctrl-C stops)")
    with StopRequests() as stop:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        while stop.requested is None and thread.is_alive():
            thread.join(0.2)
    httpd.shutdown()
    httpd.server_close()
    log(f"stopped by {stop.requested}" if stop.requested else "stopped")


def main(argv):
    del argv  # common_options.flags_parser refused stray arguments.
    logging.set_verbosity(logging.WARNING)
    run_reporting_user_errors(serve, FLAGS.model, FLAGS.host, FLAGS.port, FLAGS.max_request_mb,
                              FLAGS.examples_dir, log=lambda line: print(line, flush=True))


def entry():
    """The pix2pix-serve command (console_scripts) and python -m pix2pix_tf.serving."""
    # --help lists the flags of sys.argv[0]'s module, which for the installed
    # command is its script, not this module.
    for name in ("model", "host", "port", "max_request_mb", "examples_dir"):
        FLAGS.register_key_flag_for_module(sys.argv[0], FLAGS[name])
    app.run(main, flags_parser=common_options.flags_parser())

