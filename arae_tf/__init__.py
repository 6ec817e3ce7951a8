"""arae_tf: adversarially regularized and Wasserstein text autoencoders in TensorFlow/Keras."""

__version__ = "0.1.0"
