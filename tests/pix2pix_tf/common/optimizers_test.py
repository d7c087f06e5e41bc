import os

import keras
import numpy as np
import tensorflow as tf

from pix2pix_tf.common import optimizers


def variables_and_gradients(seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(4, 4, 3, 8), (8,), (1000,)]
    variables = [keras.Variable(rng.normal(0, 0.02, s).astype(np.float32)) for s in shapes]
    # Steps of gradients of mixed scales and signs, some exactly zero.
    gradients = [[tf.constant(rng.normal(0, 10.0 ** -k, s).astype(np.float32)
                              * (rng.uniform(size=s) > 0.1)) for s in shapes]
                 for k in range(1, 5)]
    return variables, gradients


class FusedAdamTest(tf.test.TestCase):

    def run_steps(self, fused, compiled):
        variables, steps = variables_and_gradients()
        optimizer = optimizers.adam(2e-4, 0.5, fused)
        optimizer.build(variables)

        def apply(grads):
            optimizer.apply_gradients(zip(grads, variables))

        apply = tf.function(apply) if compiled else apply
        for grads in steps:
            apply(grads)
        return optimizer, [v.numpy() for v in variables]

    def test_same_updates_as_keras_adam(self):
        for compiled in (False, True):
            with self.subTest(compiled=compiled):
                keras_adam, expected = self.run_steps(fused=False, compiled=compiled)
                fused_adam, actual = self.run_steps(fused=True, compiled=compiled)
                self.assertIsInstance(fused_adam, optimizers.FusedAdam)
                # The fused kernel computes 1 - beta2 in float32 (0.0010000467, not
                # Keras' 0.001 rounded from float64): v differs by up to 5e-5 of
                # itself, and each step's move of a weight (about lr = 2e-4) by
                # about half that.
                for e, a in zip(expected, actual):
                    self.assertAllClose(a, e, rtol=1e-6, atol=2e-8)
                for e, a in zip(keras_adam.variables, fused_adam.variables):
                    self.assertAllClose(a, e, rtol=1e-4, atol=1e-12)
                self.assertEqual(int(fused_adam.iterations.numpy()), 4)

    def test_sparse_gradient_with_repeated_rows_follows_adams_formula(self):
        # An embedding's gradient is IndexedSlices; repeated labels repeat rows.
        # Adam squares the summed gradient of a row. (Keras 3.15's own Adam
        # squares each slice and sums the squares, so there they differ.)
        variable = keras.Variable(np.ones((4, 3), np.float32))
        optimizer = optimizers.FusedAdam(0.1)
        optimizer.build([variable])
        gradient = tf.IndexedSlices(tf.constant([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]),
                                    tf.constant([0, 0]), tf.constant([4, 3]))
        optimizer.apply_gradients([(gradient, variable)])
        summed = np.array([2.0, 3.0, 4.0])
        self.assertAllClose(optimizer._velocities[0][0], 0.001 * summed ** 2)
        self.assertAllClose(optimizer._velocities[0][1], np.zeros(3))

    def test_checkpoints_interchange_with_keras_adam(self):
        variables, steps = variables_and_gradients()
        fused = optimizers.adam(2e-4, 0.5, True)
        fused.build(variables)
        fused.apply_gradients(zip(steps[0], variables))
        path = tf.train.Checkpoint(optimizer=fused).save(
            os.path.join(self.get_temp_dir(), "ckpt"))
        plain = optimizers.adam(2e-4, 0.5, False)
        plain.build(variables)
        tf.train.Checkpoint(optimizer=plain).restore(path).assert_consumed()
        for a, b in zip(fused.variables, plain.variables):
            self.assertAllEqual(a, b)


if __name__ == "__main__":
    tf.test.main()
