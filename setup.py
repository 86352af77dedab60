"""deepseekmath_jax: the DeepSeekMath system (arXiv:2402.03300) in JAX and Flax NNX."""

from setuptools import find_packages, setup

# The stack is pinned: these versions install and resolve together on CPython 3.11
# (jax 0.10.2 is the newest that installs here; see README "Install").
CORE = [
    "jax==0.10.2",
    "jaxlib==0.10.2",
    "flax==0.12.8",
    "optax==0.2.8",
    "orbax-checkpoint==0.12.8",
    "grain==0.2.18",
    "array-record==0.8.6",
    "tensorflow-datasets==4.9.10",
    "sentencepiece==0.2.3",
    "tokenizers==0.23.3",
    "sympy==1.14.0",
    "latex2sympy2_extended[antlr4_13_2]==1.11.0",
    "absl-py==2.5.1",
    "ml-collections==1.1.0",
    "chex==0.1.92",
    "numpy==2.4.6",
    "safetensors==0.8.0",
    "tensorboardX==2.6.5",
    "matplotlib==3.11.2",
    "warcio==1.8.1",
    "datasketch==2.0.0",
    "trafilatura==2.3.1",
    # lxml 6 moved lxml.html.clean (used by trafilatura's jusText) into its own package.
    "lxml_html_clean==0.4.6",
    "importlib_resources==7.1.0",  # tfds builders inside a package need it (etils dropped it)
]

TEST = [
    "pytest==9.2.0",
    "pytest-xdist==3.8.0",
    "hypothesis==6.170.17",
    "transformers==5.24.0",
    "torch==2.13.0",
    "nbformat==5.11.1",
    "nbclient==0.11.0",
    "ipykernel==7.4.0",
]

BEAM = ["apache-beam==2.77.0"]

setup(
    name="deepseekmath_jax",
    version="0.1.0",
    description="DeepSeekMath (corpus engine, pretraining, SFT, GRPO, evaluation) in JAX/Flax NNX",
    packages=find_packages(include=["deepseekmath_jax", "deepseekmath_jax.*"]),
    python_requires=">=3.11",
    install_requires=CORE,
    extras_require={
        "test": TEST,
        # Side-by-side verifier benchmark (experiments/verifier_benchmark.py).
        "bench": ["math-verify[antlr4_13_2]==0.9.0"],
        # Common-Crawl-scale corpus runs on Dataflow/Flink/Spark.
        "beam": BEAM,
        # tests/corpus_beam_test.py's own venv (`make test`): beam needs protobuf < 7.
        "beam_test": BEAM + [p for p in TEST if p.startswith("pytest==")],
        # Ahead-of-time compilation for TPU topologies on any machine
        # (experiments/aot_compile.py); the version jax's own `tpu` extra pins.
        "tpu_aot": ["libtpu==0.0.42.1"],
    },
)
