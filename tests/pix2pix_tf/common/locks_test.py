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
