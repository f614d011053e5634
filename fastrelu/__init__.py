"""fastrelu: reproduce, diagnose and sweep ReLU networks whose outputs collapse.

>>> import fastrelu as fr
>>> net = fr.MLP([3, 16, 1], seed=0)
>>> net.forward([[0.0, 1.0, 2.0]]).shape
(1, 1)
"""
from __future__ import annotations

from fastrelu import data, rules, scenarios, theory
from fastrelu.data_files import load_data
from fastrelu.diagnostics import Report, diagnose
from fastrelu.findings import FINDING_CODES, Finding
from fastrelu.ensemble import Ensemble, EnsembleHistory
from fastrelu.imported import OUTPUT_ACTIVATIONS, ImportedModel, MissingDependencyError
from fastrelu.model_files import load_model
from fastrelu.network import MLP
from fastrelu.optim import SGD, Adam, RMSprop
from fastrelu.runtime import kernels_cached
from fastrelu.serialization import load, save
from fastrelu.sweeps import SweepResult, sweep
from fastrelu.training import DivergedError, History, fit, minibatches
from fastrelu.warmup import warmup

__version__ = "0.1.0"

__all__ = [
    "MLP", "SGD", "Adam", "RMSprop", "History", "DivergedError", "fit", "minibatches", "save", "load",
    "diagnose", "Report", "Ensemble", "EnsembleHistory", "sweep", "SweepResult", "scenarios", "data",
    "theory", "rules", "kernels_cached", "load_model", "ImportedModel", "OUTPUT_ACTIVATIONS",
    "MissingDependencyError", "Finding", "FINDING_CODES", "load_data", "warmup",
]
