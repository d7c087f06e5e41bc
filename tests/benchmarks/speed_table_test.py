import tensorflow as tf

from tests.support import paths


class SpeedTableTest(tf.test.TestCase):

    def test_times_the_quick_start_the_readme_shows(self):
        commands = paths.load_benchmark("speed_table").quickstart_commands()
        self.assertEqual([command.split()[:4] for command in commands],
                         [["python", "tools/download-dataset.py", "synthetic_facades"],
                          ["python", "-m", "pix2pix_tf.main", "--mode"],
                          ["python", "-m", "pix2pix_tf.main", "--mode"]])
        self.assertIn("--mode train", commands[1])
        self.assertIn("--crop_size 128", commands[1])
        self.assertIn("--mode test", commands[2])


if __name__ == "__main__":
    tf.test.main()
