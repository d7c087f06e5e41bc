"""Every command in the code blocks of README.md and docs/*.md parses: its
module or script exists, and every --flag it names is one the command defines."""

import concurrent.futures
import functools
import glob
import importlib.util
import os
import re
import shlex
import subprocess
import sys

import tensorflow as tf
from absl import flags

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Installed commands (pyproject.toml's [project.scripts]) and what they run.
INSTALLED = {
    "pix2pix-tf": ("module", "pix2pix_tf.main"),
    "pix2pix-serve": ("module", "pix2pix_tf.serving"),
    "cgan-mnist-tf": ("module", "cgan_mnist_tf.main"),
    "pix2pix-process": ("script", "tools/process.py"),
    "pix2pix-split": ("script", "tools/split.py"),
    "pix2pix-download": ("script", "tools/download-dataset.py"),
}
# Modules whose flags are not this project's to check.
FOREIGN_MODULES = {"pytest", "pip", "http.server"}
# absl's own flags, defined by app.run.
ABSL_SPECIAL = {"help", "helpfull", "helpshort", "flagfile", "undefok"}


def documents():
    return [os.path.join(REPO, "README.md")] + sorted(glob.glob(os.path.join(REPO, "docs", "*.md")))


def code_blocks(text):
    """The fenced blocks of a Markdown text, but Python code, as (first line number, lines)."""
    blocks, block, language, start = [], None, None, 0
    for number, line in enumerate(text.splitlines(), 1):
        fence = re.match(r"^\s*```(\S*)", line)
        if fence and block is None:
            block, language, start = [], fence.group(1), number + 1
        elif fence:
            if language not in ("python", "bibtex"):
                blocks.append((start, block))
            block = None
        elif block is not None:
            block.append(line)
    return blocks


def commands_of(text):
    """(line number, argv) of each command a reader would run: lines joined at
    a trailing backslash, split at pipes, && and ;, that start with `python `
    or an installed command (after VAR=value assignments); comments dropped."""
    found = []
    for start, lines in code_blocks(text):
        joined, first = "", None
        for offset, line in enumerate(lines):
            if first is None:
                first = start + offset
            if line.rstrip().endswith("\\"):
                joined += line.rstrip()[:-1] + " "
                continue
            joined += line
            found.extend((first, argv) for argv in _split(joined))
            joined, first = "", None
    return found


def _split(line):
    stripped = line.strip()
    if not re.match(r"^(\w+=\S+\s+)*(python |" + "|".join(map(re.escape, INSTALLED)) + r")",
                    stripped) and not re.search(r"(\||&&|;)\s*(python |pix2pix-|cgan-)", stripped):
        return []
    if re.match(r"^python -c\b", stripped):
        return []  # Python code, not a command line.
    lexer = shlex.shlex(stripped, posix=True, punctuation_chars="|&;")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands, current = [], []
    for token in lexer:
        if token in ("|", "&&", ";", "||", "&"):
            commands.append(current)
            current = []
        else:
            current.append(token)
    commands.append(current)
    result = []
    for argv in commands:
        while argv and re.match(r"^\w+=", argv[0]):
            argv = argv[1:]  # An environment assignment in front.
        if argv and (argv[0] == "python" or argv[0] in INSTALLED) and argv[1:2] != ["-c"]:
            result.append(argv)
    return result


def target_of(argv):
    """("module", name) or ("script", repo-relative path) that argv runs, and its arguments."""
    if argv[0] in INSTALLED:
        return INSTALLED[argv[0]], argv[1:]
    if argv[1] == "-m":
        return ("module", argv[2]), argv[3:]
    return ("script", argv[1]), argv[2:]


def flag_names(arguments):
    """The long flags of a command's arguments, without their values."""
    return [re.match(r"^--([A-Za-z0-9_\-]+)", a).group(1)
            for a in arguments if re.match(r"^--[A-Za-z]", a)]


def _absl_flags(define):
    values = flags.FlagValues()
    define(values)
    return {name: values[name].boolean for name in values}


@functools.lru_cache(maxsize=None)
def flags_of_module(module):
    """{flag name: whether it is boolean} of one of the project's absl commands."""
    from pix2pix_tf.common import options as common_options

    if module in ("pix2pix_tf.main", "cgan_mnist_tf.main"):
        if module == "pix2pix_tf.main":
            from pix2pix_tf.options import Options
        else:
            from cgan_mnist_tf.options import Options
        return _absl_flags(lambda values: common_options.define_flags(Options, values))
    if module == "pix2pix_tf.serving":
        import pix2pix_tf.serving.cli as cli

        return {name: cli.FLAGS[name].boolean for name in cli.FLAG_NAMES}
    return None


def _help_text(script):
    result = subprocess.run([sys.executable, os.path.join(REPO, script), "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    return result.returncode, result.stdout + result.stderr


def flags_in_help(text):
    """{flag name: whether --noNAME is accepted} from absl's or argparse's --help."""
    found = {}
    for prefix, name in re.findall(r"--(\[no\])?([A-Za-z][A-Za-z0-9_\-]*)", text):
        found[name] = found.get(name, False) or bool(prefix)
    return found


class ReadmeCommandsTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.commands = []  # (where, argv)
        for path in documents():
            with open(path, encoding="utf-8") as f:
                for number, argv in commands_of(f.read()):
                    cls.commands.append((f"{os.path.relpath(path, REPO)}:{number}", argv))
        scripts = sorted({target[1] for _, argv in cls.commands
                          for target, _ in [target_of(argv)] if target[0] == "script"
                          and os.path.isfile(os.path.join(REPO, target[1]))})
        # The scripts' --help in parallel: the benchmarks import TensorFlow first.
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            cls.script_help = dict(zip(scripts, pool.map(_help_text, scripts)))

    def test_the_readme_and_docs_have_commands(self):
        where = {w.split(":")[0] for w, _ in self.commands}
        self.assertIn("README.md", where)
        self.assertGreater(len(self.commands), 30)

    def test_the_quick_start_is_in_the_first_40_lines(self):
        with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
            head = "".join(f.readlines()[:40])
        self.assertIn("docs/quickstart_result.png", head)
        self.assertTrue(os.path.isfile(os.path.join(REPO, "docs", "quickstart_result.png")))
        self.assertIn("python tools/download-dataset.py synthetic_facades\n", head)
        self.assertIn("python -m pix2pix_tf.serving --model facades_train\n", head)

    def test_every_command_runs_something_that_exists(self):
        for where, argv in self.commands:
            with self.subTest(where=where, command=" ".join(argv)):
                (kind, name), _ = target_of(argv)
                if kind == "module":
                    self.assertIsNotNone(importlib.util.find_spec(name), f"no module {name}")
                else:
                    self.assertTrue(os.path.isfile(os.path.join(REPO, name)), f"no file {name}")

    def test_every_flag_is_defined(self):
        for where, argv in self.commands:
            (kind, name), arguments = target_of(argv)
            if kind == "module" and name in FOREIGN_MODULES:
                continue
            with self.subTest(where=where, command=" ".join(argv)):
                if kind == "module":
                    defined = flags_of_module(name)
                    self.assertIsNotNone(defined, f"{where}: no flags known for module {name}")
                    defined = dict(defined, **{special: False for special in ABSL_SPECIAL})
                else:
                    if not os.path.isfile(os.path.join(REPO, name)):
                        continue  # test_every_command_runs_something_that_exists says so.
                    status, text = self.script_help[name]
                    self.assertEqual(status, 0, f"python {name} --help failed:\n{text[-2000:]}")
                    defined = dict(flags_in_help(text), help=False)
                for flag in flag_names(arguments):
                    if flag in defined:
                        continue
                    negated = flag[2:] if flag.startswith("no") else None
                    self.assertTrue(negated in defined and defined[negated],
                                    f"{where}: {name} has no flag --{flag}")


class ParsingTest(tf.test.TestCase):
    """The extraction itself, on made-up Markdown."""

    def test_continuations_pipes_and_comments(self):
        text = ("```bash\nFOO=1 python -m a.b --x 1 \\\n    --y 2   # a comment --z\n"
                "cat f | python tools/split.py --dir d && pix2pix-tf --mode test\n"
                "python -c \"print('--w')\"\n```\n"
                "```python\npython --not_a_command\n```\n")
        argvs = [argv for _, argv in commands_of(text)]
        self.assertEqual(argvs, [["python", "-m", "a.b", "--x", "1", "--y", "2"],
                                 ["python", "tools/split.py", "--dir", "d"],
                                 ["pix2pix-tf", "--mode", "test"]])
        self.assertEqual(flag_names(["--x", "1", "--y=2", "-q", "--nocache"]), ["x", "y", "nocache"])

    def test_help_texts_of_absl_and_argparse(self):
        text = "  --[no]cache: ...\n  --crop_size: ...\n  --input_dir INPUT_DIR  folder\n"
        self.assertEqual(flags_in_help(text), {"cache": True, "crop_size": False,
                                               "input_dir": False})


if __name__ == "__main__":
    tf.test.main()
