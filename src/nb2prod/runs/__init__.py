"""Parameterised notebook runs (papermill), deploying a notebook by running it, rebuilding a version,
data contracts, retraining policies and the retraining loop."""

from nb2prod.runs.contract import check_contract, enforce_contract, load_table
from nb2prod.runs.notebook_run import run_notebook
from nb2prod.runs.parameters import parse_parameter
from nb2prod.runs.retrain import feedback_frame, retrain
from nb2prod.runs.schedule import cronjob_manifest, due_retrains, get_policy, schedule_item, set_policy

__all__ = [
    "check_contract",
    "cronjob_manifest",
    "due_retrains",
    "enforce_contract",
    "feedback_frame",
    "get_policy",
    "load_table",
    "parse_parameter",
    "retrain",
    "run_notebook",
    "schedule_item",
    "set_policy",
]
