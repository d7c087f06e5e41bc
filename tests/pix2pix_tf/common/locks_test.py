import os
import socket

import tensorflow as tf

from pix2pix_tf.common import locks
from pix2pix_tf.common.errors import UserError


class FolderLockTest(tf.test.TestCase):

    def test_a_second_holder_is_refused_with_the_first_ones_process(self):
        folder = os.path.join(self.get_temp_dir(), "run")
        with locks.FolderLock(folder):
            with open(os.path.join(folder, locks.LOCK_FILE)) as f:
                self.assertEqual(f.read(), f"process {os.getpid()} on {socket.gethostname()}\n")
            # flock locks belong to open files: a second one conflicts, even in one process.
            with self.assertRaisesRegex(UserError, f"^--output_dir {folder} is in use by a "
                                                   f"training run \\(process {os.getpid()} on "):
                locks.FolderLock(folder).acquire()
        with locks.FolderLock(folder):  # Released at the end of the block.
            pass

    def test_a_failed_block_removes_the_folder_it_made_and_nothing_else(self):
        made = os.path.join(self.get_temp_dir(), "made")
        with self.assertRaises(ValueError):
            with locks.FolderLock(made):
                raise ValueError
        self.assertFalse(os.path.exists(made))
        kept = os.path.join(self.get_temp_dir(), "kept")
        with self.assertRaises(ValueError):
            with locks.FolderLock(kept):
                open(os.path.join(kept, "options.json"), "w").close()
                raise ValueError
        self.assertTrue(os.path.isfile(os.path.join(kept, "options.json")))

    def test_unusable_folder(self):
        blocker = os.path.join(self.get_temp_dir(), "blocker")
        open(blocker, "w").close()
        with self.assertRaisesRegex(UserError, f"^--output_dir {blocker} is a file, not a folder$"):
            locks.FolderLock(blocker).acquire()
        with self.assertRaisesRegex(UserError, "^cannot write to --output_dir /proc/run"):
            locks.FolderLock("/proc/run").acquire()


class RemoteFolderTest(tf.test.TestCase):
    """A folder with a scheme (ram:// standing in for gs://) is checked, never locked."""

    def test_a_remote_folder_is_made_and_checked_but_not_locked(self):
        folder = "ram://locks_test/run"
        with locks.FolderLock(folder) as lock:
            self.assertTrue(lock.held)
            self.assertTrue(tf.io.gfile.isdir(folder))
            self.assertEqual(tf.io.gfile.listdir(folder), [])  # No lock file there.
            with locks.FolderLock(folder):  # No lock can refuse a second holder there.
                pass
        self.assertFalse(lock.held)
        tf.io.gfile.rmtree(folder)

    def test_a_failed_block_removes_the_remote_folder_it_made_and_nothing_else(self):
        made = "ram://locks_test/made"
        with self.assertRaises(ValueError):
            with locks.FolderLock(made):
                raise ValueError
        self.assertFalse(tf.io.gfile.exists(made))
        kept = "ram://locks_test/kept"
        with self.assertRaises(ValueError):
            with locks.FolderLock(kept):
                with tf.io.gfile.GFile(kept + "/options.json", "w") as f:
                    f.write("{}")
                raise ValueError
        self.assertTrue(tf.io.gfile.exists(kept + "/options.json"))
        tf.io.gfile.rmtree(kept)

    def test_a_remote_file_in_the_way_is_a_user_error(self):
        blocker = "ram://locks_test/blocker"
        with tf.io.gfile.GFile(blocker, "w") as f:
            f.write("x")
        with self.assertRaisesRegex(UserError, f"^--output_dir {blocker} is a file, not a folder$"):
            locks.FolderLock(blocker).acquire()
        tf.io.gfile.remove(blocker)


class DirectoryLockTest(tf.test.TestCase):

    def test_held_elsewhere_gives_false_at_once(self):
        folder = self.get_temp_dir()
        with locks.directory_lock(folder) as held:
            self.assertTrue(held)
            with locks.directory_lock(folder, wait=False) as second:
                self.assertFalse(second)
        with locks.directory_lock(folder, wait=False) as again:
            self.assertTrue(again)


if __name__ == "__main__":
    tf.test.main()
