"""arae_tf: adversarially regularized and Wasserstein text autoencoders for TensorFlow/Keras."""

from setuptools import find_packages, setup

INSTALL = [
    "tensorflow==2.21.0",
    "keras==3.15.1",
    "tensorflow-datasets==4.9.10",
    "tensorboard==2.21.0",
    "ml-collections==1.1.0",
    "absl-py==2.5.1",
    "sacrebleu==2.6.0",
    "nltk==3.10.4",
    "numpy>=1.26,<3",
    "matplotlib==3.11.2",
    # fastText for transfer accuracy; this fork ships wheels and works under NumPy 2.
    "fasttext-numpy2==0.10.4",
]
TEST = ["pytest==9.0.3", "pytest-timeout==2.4.0", "pytest-xdist==3.6.1", "execnet==2.1.2"]

setup(
    name="arae_tf",
    version="0.1.0",
    description="ARAE, WAE, VAE, DAE and AAE text autoencoders with a pretrained model zoo, in TensorFlow/Keras 3",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    # The repository's configs/ and zoo/ folders install inside the package, as arae_tf.configs and
    # arae_tf.presets (no top-level `configs`/`zoo` packages to collide with others).
    packages=find_packages(include=["arae_tf", "arae_tf.*"]) + ["arae_tf.configs", "arae_tf.presets"],
    package_dir={"arae_tf.configs": "configs", "arae_tf.presets": "zoo"},
    include_package_data=True,
    package_data={"arae_tf.presets": ["*/*", "*/assets/*"]},
    entry_points={"console_scripts": [
        "arae-train=arae_tf.cli:train",
        "arae-evaluate=arae_tf.cli:evaluate",
        "arae-export=arae_tf.cli:export",
        "arae-make-preset=arae_tf.cli:make_preset",
        "arae-fit-prior=arae_tf.cli:fit_prior",
        "arae-add-code-fit=arae_tf.cli:add_code_fit",
        "arae-checkpoint-sweep=arae_tf.cli:checkpoint_sweep",
        "arae-tables=arae_tf.cli:tables",
        "arae-offsets=arae_tf.cli:offsets",
        "arae-semisupervised=arae_tf.cli:semisupervised",
        "arae-demo=arae_tf.cli:demo",
        "arae-transfer-sweep=arae_tf.cli:transfer_sweep",
    ]},
    python_requires=">=3.10",
    install_requires=INSTALL,
    extras_require={"test": TEST},
    license="Apache-2.0",
)
