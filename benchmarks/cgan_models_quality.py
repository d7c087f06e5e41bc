"""Benchmark (not a test): every cgan_mnist_tf model trained the same way, then one judge.

Trains each `--models` entry with the CLI's defaults (only --epochs, --dataset
and the model set) and scores it with `--mode eval`'s held-out judge: a
classifier trained on real digits and scored on real digits it never saw. By
default the judge learns from the real MNIST t10k split at
../shared/data/mnist-t10k (holding out a seeded 10%), so it has seen none of
the GAN's training digits; images of another size (conv's 32x32, stackgan's
64x64) are resized to the judge's 28x28 (the table says so). Prints one
table: conditional accuracy, Frechet distance and intra-class diversity in
the judge's feature space, seconds per epoch (the whole train() call,
start-up included, over the epochs), and the real held-out digits' row, the
ceiling.

    python benchmarks/cgan_models_quality.py --models mlp,dcgan_proj --epochs 50
"""

import argparse
import os
import platform
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from pix2pix_tf.common import quiet

quiet.load_tensorflow("--verbose" in sys.argv)

from cgan_mnist_tf import choices, classifier, evaluate, models, train
from cgan_mnist_tf.options import Options
from pix2pix_tf.common import files
from pix2pix_tf.common.options import replace

T10K_DIR = os.path.join(REPO, "..", "shared", "data", "mnist-t10k")
JUDGE_SIZE = classifier.IMAGE_SIZE  # Images of other sizes are resized to it.
COLUMNS = ("model", "conditional accuracy", "Frechet distance", "diversity", "s/epoch")


def cpu_model():
    """lscpu's model name, or the platform's processor string."""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_model(model, args, judge_dir):
    """Trains `model`, evaluates it with the held-out judge; returns its table row dict."""
    run_dir = os.path.join(args.output_dir, model)
    start = time.perf_counter()
    result = train.train(Options(output_dir=run_dir, model=model, dataset=args.dataset,
                                 data_dir=args.data_dir, epochs=args.epochs, seed=args.seed,
                                 **({"batch_size": args.batch_size} if args.batch_size else {})))
    seconds = time.perf_counter() - start
    # One classifier for every model: cached in the judge folder.
    eval_options = Options(checkpoint=run_dir, output_dir=os.path.join(args.output_dir, "judge"),
                           eval_samples=args.eval_samples,
                           classifier_epochs=args.classifier_epochs, seed=args.seed)
    given = {"output_dir"}
    if judge_dir:
        eval_options = replace(eval_options, dataset="mnist", data_dir=os.path.abspath(judge_dir))
        given |= {"dataset", "data_dir"}
    metrics = evaluate.evaluate(eval_options, given)
    files.write_json(os.path.join(run_dir, "benchmark_metrics.json"), metrics)
    return {"model": model, "epochs": result.epoch, "steps": result.step,
            "seconds_per_epoch": seconds / max(1, args.epochs), "metrics": metrics}


def model_label(model):
    """The table's name of `model`, with its image size when the judge sees them resized."""
    size = models.output_shape(model)[0]
    if size == JUDGE_SIZE:
        return model
    return f"{model} ({size}x{size}, judged at {JUDGE_SIZE}x{JUDGE_SIZE})"


def table(rows):
    """The markdown table of the runs and, last, the real held-out digits' ceiling."""
    def cell(value, digits=3):
        return "n/a" if value is None else f"{value:.{digits}f}"
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        m = row["metrics"]
        lines.append(f"| {model_label(row['model'])} | {cell(m['conditional_accuracy'])} | "
                     f"{cell(m['frechet_distance'], 2)} | {cell(m['diversity'], 2)} | "
                     f"{cell(row['seconds_per_epoch'], 1)} |")
    if rows:
        real = rows[-1]["metrics"]["real"]
        lines.append(f"| real held-out digits (ceiling) | {cell(real['conditional_accuracy'])} | "
                     f"{cell(real['frechet_distance'], 2)} | {cell(real['diversity'], 2)} | - |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(choices.MODELS),
                        help="comma-separated --model values")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--dataset", default="mnist_5k")
    parser.add_argument("--data_dir", default=None, help="training digits (IDX) instead of --dataset's")
    parser.add_argument("--batch_size", type=int, default=0, help="0: the CLI's default")
    parser.add_argument("--judge_dir", default=T10K_DIR if os.path.isdir(T10K_DIR) else "",
                        help="real digits (IDX) the judge learns from; empty: the training data's")
    parser.add_argument("--eval_samples", type=int, default=100)
    parser.add_argument("--classifier_epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output_dir", default=os.path.join(REPO, "runs", "bench_models"))
    args = parser.parse_args(argv)

    rows = [run_model(model.strip(), args, args.judge_dir)
            for model in args.models.split(",") if model.strip()]
    report = {"command": " ".join([os.path.basename(sys.executable)] + sys.argv),
              "machine": f"{cpu_model()}, {os.cpu_count()} CPU cores",
              "epochs": args.epochs, "dataset": args.data_dir or args.dataset,
              "judge": rows[0]["metrics"]["data_source"] if rows else None, "rows": rows}
    files.write_json(os.path.join(args.output_dir, "benchmark.json"), report)
    print(f"machine: {report['machine']}; {args.epochs} epochs on {report['dataset']}; "
          f"judge: {report['judge']}")
    print(table(rows), flush=True)
    return report


if __name__ == "__main__":
    main()
