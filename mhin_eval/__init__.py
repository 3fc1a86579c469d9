"""mhin-eval: evaluation dashboard of the Mental Health Implementation Network."""

__version__ = "0.1.0"
