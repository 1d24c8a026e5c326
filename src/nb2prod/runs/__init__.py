"""Parameterised notebook runs (papermill) and, later, the retraining loop."""

from nb2prod.runs.notebook_run import parse_parameter, run_notebook

__all__ = ["parse_parameter", "run_notebook"]
