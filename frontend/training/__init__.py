"""Training: optimizers (tf.train), losses, metrics, callbacks, and the fit/evaluate loops."""
