import os
import stat
from unittest import mock

import tensorflow as tf

from pix2pix_tf.common import files
from pix2pix_tf.common.errors import UserError


class FilesTest(tf.test.TestCase):
    """The helpers on a local folder and on ram:// (TensorFlow's in-memory file
    system, which goes through tf.io.gfile as gs:// does)."""

    def folders(self):
        return [os.path.join(self.get_temp_dir(), "local"), f"ram://files_test/{self.id()}"]

    def tearDown(self):
        if tf.io.gfile.exists("ram://files_test"):
            tf.io.gfile.rmtree("ram://files_test")
        super().tearDown()

    def test_is_local(self):
        self.assertTrue(files.is_local("/tmp/run"))
        self.assertTrue(files.is_local("run"))
        self.assertFalse(files.is_local("gs://bucket/run"))
        self.assertFalse(files.is_local("ram://run"))

    def test_write_read_list_and_remove(self):
        for folder in self.folders():
            with self.subTest(folder=folder):
                files.check_writable_dir(folder)
                self.assertTrue(files.isdir(folder))
                self.assertEqual(files.listdir(folder), [])  # The write test left nothing.
                path = os.path.join(folder, "sub", "a.json")
                files.write_json(path, {"a": 1})
                files.write_atomic(os.path.join(folder, "b.bin"), b"\x00\x01")
                self.assertEqual(files.read_text(path), '{\n    "a": 1\n}\n')
                self.assertEqual(files.read_bytes(os.path.join(folder, "b.bin")), b"\x00\x01")
                # Sub-folders without the trailing "/" object stores list them with.
                self.assertCountEqual(files.listdir(folder), ["sub", "b.bin"])
                self.assertEqual(files.listdir(os.path.join(folder, "sub")), ["a.json"])
                self.assertTrue(files.isfile(path))
                self.assertFalse(files.isfile(os.path.join(folder, "sub")))
                self.assertEqual(files.matching(os.path.join(folder, "sub", "a"), ".js*"), [path])
                files.write_atomic(path, "replaced")
                self.assertEqual(files.read_text(path), "replaced")
                self.assertEqual(files.listdir(os.path.join(folder, "sub")), ["a.json"])
                files.rmtree(os.path.join(folder, "sub"))
                self.assertFalse(files.exists(os.path.join(folder, "sub")))

    def test_errors_are_os_errors_naming_the_path(self):
        for folder in self.folders():
            with self.subTest(folder=folder):
                missing = os.path.join(folder, "missing")
                with self.assertRaises(FileNotFoundError) as caught:
                    files.read_bytes(missing)
                self.assertEqual(caught.exception.filename, missing)
                with self.assertRaises(FileNotFoundError):
                    files.listdir(missing)

    def test_a_file_system_that_cannot_answer_is_a_user_error_not_a_no(self):
        unreachable = tf.errors.FailedPreconditionError(
            None, None, "Error executing an HTTP request:\n\tCould not resolve host")
        with mock.patch.object(tf.io.gfile, "exists", side_effect=unreachable):
            for question in (files.exists, files.isdir, files.isfile):
                with self.subTest(question=question.__name__):
                    with self.assertRaisesRegex(UserError, "^cannot reach gs://bucket/data: Error "
                                                           "executing an HTTP request: Could not "
                                                           "resolve host$"):
                        question("gs://bucket/data")
        self.assertFalse(files.isdir("ram://files_test/missing"))

    def test_a_file_in_the_way_of_the_output_folder(self):
        for folder in self.folders():
            with self.subTest(folder=folder):
                blocker = os.path.join(folder, "blocker")
                files.write_atomic(blocker, "x")
                with self.assertRaisesRegex(UserError,
                                            f"^--output_dir {blocker} is a file, not a folder$"):
                    files.check_writable_dir(blocker)

    def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(self):
        for folder in self.folders():
            with self.subTest(folder=folder):
                path = os.path.join(folder, "a.txt")
                files.write_atomic(path, "old")
                with mock.patch.object(files, "replace", side_effect=OSError("no room")), \
                        mock.patch.object(files.os, "replace", side_effect=OSError("no room")):
                    with self.assertRaisesRegex(OSError, "no room"):
                        files.write_atomic(path, "new")
                self.assertEqual(files.read_text(path), "old")
                self.assertEqual(files.listdir(folder), ["a.txt"])

    def test_replace_copies_where_the_file_system_has_no_rename(self):
        folder = self.folders()[1]
        files.write_atomic(os.path.join(folder, "source"), "new")
        # No older target: ram:// appends to a file written over (TensorFlow 2.21),
        # where object stores replace it; ram:// itself has a rename.
        unimplemented = tf.errors.UnimplementedError(None, None, "no rename here")
        with mock.patch.object(tf.io.gfile, "rename", side_effect=unimplemented):
            files.replace(os.path.join(folder, "source"), os.path.join(folder, "target"))
        self.assertEqual(files.read_text(os.path.join(folder, "target")), "new")
        self.assertEqual(files.listdir(folder), ["target"])

    def test_local_files_keep_the_umask_mode(self):
        path = os.path.join(self.folders()[0], "a.txt")
        files.write_atomic(path, "x")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o666 & ~files.current_umask())

    def test_copy_tree_copies_the_last_file_after_the_others(self):
        source = os.path.join(self.get_temp_dir(), "tree")
        files.write_atomic(os.path.join(source, "saved_model.pb"), b"pb")
        files.write_atomic(os.path.join(source, "variables", "variables.index"), b"index")
        files.write_atomic(os.path.join(source, "z.json"), b"{}")
        for target in (os.path.join(self.get_temp_dir(), "copy"), "ram://files_test/copy"):
            with self.subTest(target=target):
                copied = []
                real_copy = files._copy_file

                def record(src, dst, copied=copied, real_copy=real_copy):
                    copied.append(os.path.relpath(src, source))
                    real_copy(src, dst)

                with mock.patch.object(files, "_copy_file", side_effect=record):
                    files.copy_tree(source, target, last="saved_model.pb")
                self.assertCountEqual(copied, ["saved_model.pb", "z.json",
                                               os.path.join("variables", "variables.index")])
                self.assertEqual(copied[-1], "saved_model.pb")
                self.assertEqual(files.read_bytes(os.path.join(target, "variables",
                                                               "variables.index")), b"index")
                self.assertEqual(files.read_bytes(os.path.join(target, "saved_model.pb")), b"pb")

    def test_paths_with_a_scheme_are_not_squashed(self):
        self.assertEqual(files.abspath("gs://bucket/run/"), "gs://bucket/run")
        self.assertEqual(files.realpath("gs://bucket/run"), "gs://bucket/run")
        self.assertEqual(files.abspath("run"), os.path.join(os.getcwd(), "run"))
        self.assertEqual(files.relpath("gs://b/data/1.png", "gs://b/out"), "../data/1.png")
        self.assertEqual(files.relpath("gs://a/data/1.png", "gs://b/out"), "gs://a/data/1.png")
        self.assertEqual(files.relpath("/data/1.png", "gs://b/out"), "/data/1.png")
        self.assertEqual(files.relpath("/data/1.png", "/out"), "../data/1.png")


if __name__ == "__main__":
    tf.test.main()
