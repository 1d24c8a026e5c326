"""Parameterised notebook runs (papermill) and, later, the retraining loop."""

from nb2prod.runs.notebook_run import parse_parameter, run_notebook

__all__ = ["run_notebook", "parse_parameter"]
