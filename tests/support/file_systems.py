"""One workflow run on TensorFlow's in-memory ram:// file system (the
tf.io.gfile code path gs:// takes) and on a local folder."""

import os

import tensorflow as tf


class RamAndLocalTestCase(tf.test.TestCase):
    """Subclasses set RAM_ROOT (a ram:// folder of their own) and define
    workflow(root); it runs under RAM_ROOT and under a local temp folder."""

    RAM_ROOT = None

    def tearDown(self):
        if tf.io.gfile.exists(self.RAM_ROOT):
            tf.io.gfile.rmtree(self.RAM_ROOT)
        super().tearDown()

    def test_on_ram_file_system(self):
        self.workflow(self.RAM_ROOT + "/root")

    def test_on_local_folder(self):
        self.workflow(os.path.join(self.get_temp_dir(), "root"))

    def workflow(self, root):
        raise NotImplementedError
