import contextlib
import io
import os

import imageio.v3 as iio
import tensorflow as tf

from cgan_mnist_tf import generate, report
from cgan_mnist_tf.options import Options
from pix2pix_tf.common.errors import UserError
from tests.support import cgan as testing


def _cell(grid, row, col, size=28, labelled=True):
    """The image at row, col of a grid, shrunk back to `size` pixels."""
    p, scale = report.PADDING, report.cell_scale(size)
    cell = size * scale
    top = p + row * (cell + p)
    left = (report.label_width(cell) if labelled else 0) + p + col * (cell + p)
    return grid[top:top + cell:scale, left:left + cell:scale]


def _grid_shape(rows, cols, size=28, labelled=True):
    p, cell = report.PADDING, size * report.cell_scale(size)
    return (rows * (cell + p) + p,
            (report.label_width(cell) if labelled else 0) + cols * (cell + p) + p)


class GenerateTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.run_dir = os.path.join(tf.compat.v1.test.get_temp_dir(), "conditional_run")
        cls.gan = testing.untrained_run(cls.run_dir, latent_dim=8)
        cls.plain_dir = os.path.join(tf.compat.v1.test.get_temp_dir(), "plain_run")
        testing.untrained_run(cls.plain_dir, latent_dim=8, conditional=False)

    def _generate(self, **options):
        with contextlib.redirect_stdout(io.StringIO()):
            return generate.generate(Options(**{"checkpoint": self.run_dir, **options}))

    def test_one_row_per_label_num_per_row(self):
        path = self._generate(labels="3,1,4", num=5, seed=7,
                              output=os.path.join(self.get_temp_dir(), "g.png"))
        grid = iio.imread(path)
        self.assertEqual(grid.shape, _grid_shape(3, 5))
        # Row r, column c is G(z_c, label_r): the same z in every row of a column.
        z = generate.noise(5, 8, 7)
        expected = generate.sample(self.gan.generator, True, z, [1] * 5)
        self.assertAllClose(_cell(grid, 1, 3).astype(int), report.to_uint8(expected)[3].astype(int), atol=1)

    def test_same_seed_same_grid(self):
        def grid(seed, name):
            return iio.imread(self._generate(labels="2", num=3, seed=seed,
                                             output=os.path.join(self.get_temp_dir(), name)))
        a, b, c = grid(1, "a.png"), grid(1, "b.png"), grid(2, "c.png")
        self.assertAllEqual(a, b)
        self.assertNotAllEqual(a, c)

    def test_default_labels_are_all_ten_digits(self):
        grid = iio.imread(self._generate(num=2, output=os.path.join(self.get_temp_dir(), "all.png")))
        self.assertEqual(grid.shape, _grid_shape(10, 2))

    def test_interpolation_walks_between_two_points(self):
        grid = generate.interpolation_grid(self.gan.generator, True, 8, [5, 6], 4, seed=3)
        self.assertEqual(grid.shape, _grid_shape(2, 4))
        ends = generate.noise(2, 8, 3)
        first = report.to_uint8(generate.sample(self.gan.generator, True, ends[:1], [6]))[0]
        last = report.to_uint8(generate.sample(self.gan.generator, True, ends[1:], [6]))[0]
        self.assertAllClose(_cell(grid, 1, 0).astype(int), first.astype(int), atol=1)
        self.assertAllClose(_cell(grid, 1, 3).astype(int), last.astype(int), atol=1)

    def test_label_outside_0_to_9(self):
        for text, message in (("3,10", "label 10 is outside 0..9"), ("-1", "label -1 is outside"),
                              ("3,x", "'x' is not a label")):
            with self.assertRaisesRegex(UserError, message):
                self._generate(labels=text)

    def test_labels_on_an_unconditional_checkpoint(self):
        with self.assertRaisesRegex(UserError, "--labels given but the checkpoint is an unconditional"):
            generate.generate(Options(**{"checkpoint": self.plain_dir, "labels": "1,2"}))

    def test_unconditional_grid(self):
        with contextlib.redirect_stdout(io.StringIO()):
            path = generate.generate(Options(
                checkpoint=self.plain_dir, num=12,
                output=os.path.join(self.get_temp_dir(), "plain.png")))
        self.assertEqual(iio.imread(path).shape, _grid_shape(2, 10, labelled=False))

    def test_num_out_of_bounds(self):
        for num in (0, -3, 1001):
            with self.subTest(num=num):
                with self.assertRaisesRegex(UserError, f"^--num must be between 1 and 1000, not {num}$"):
                    self._generate(num=num)
        with self.assertRaisesRegex(UserError, "30 labels x --num 1000 is 30000 images"):
            self._generate(num=1000, labels=",".join(["1"] * 30))

    def test_unusable_output(self):
        root = self.get_temp_dir()
        blocker = os.path.join(root, "blocker")
        with open(blocker, "w") as f:
            f.write("a file")
        cases = {
            root: f"--output {root} is a folder; give the image's file name",
            os.path.join(root, "grid.gif"): f"--output {root}/grid.gif must end in .png, .jpg, .jpeg",
            os.path.join(root, "grid"): f"--output {root}/grid must end in .png, .jpg, .jpeg",
            os.path.join(blocker, "grid.png"): f"the folder of --output {blocker} is a file",
            "/proc/grid.png": "cannot write to the folder of --output /proc",
        }
        for output, message in cases.items():
            with self.subTest(output):
                with self.assertRaisesRegex(UserError, "^" + message):
                    self._generate(output=output)
                self.assertFalse(os.path.isfile(output))

    def test_missing_checkpoint(self):
        with self.assertRaisesRegex(UserError, "does not exist"):
            generate.generate(Options(**{"checkpoint": os.path.join(self.get_temp_dir(), "nowhere")}))


if __name__ == "__main__":
    tf.test.main()
