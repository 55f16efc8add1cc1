"""The one place the version is defined (pyproject.toml and gan_eval.__version__ read it)."""

__version__ = "0.1.0"
