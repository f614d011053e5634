"""Why are the outputs identical? Measure a model on data, name the likely causes, prove the fix.

``diagnose(model, X, y)`` takes an ``fr.MLP``, an imported model, a model file (``.pt``,
``.pth``, ``.safetensors``, ``.npz``, ``.onnx``) or any ``torch.nn.Module``. MLP-shaped models
are converted to an ``fr.MLP`` with their exact weights and measured on fastrelu's kernels
(:mod:`fastrelu.measure_net`): per hidden layer the dead fraction, the mean squared activation
next to the variance-recursion prediction, the rows' cosine similarity next to the
arc-cosine prediction, weight/bias norms and gradient norms; at the output the spread across
rows and its ratio to the target's. Other PyTorch modules (a CNN) are measured through forward
hooks on their ReLU modules (:mod:`fastrelu.torch`). The findings are ranked, most likely
cause first (:mod:`fastrelu.findings`); with ``fix=True`` the candidate fixes are trained on
the user's data from fresh seeds and measured (:mod:`fastrelu.fixes`).

The collapse rule and the dead-unit rule are those of :mod:`fastrelu.rules`; the target
standard deviation is that of ``y``, else ``reference_std``, else the mean std of the input
features.
"""
from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np

from fastrelu import _validation as v
from fastrelu import rules
from fastrelu.causes import RULES, Cause, Evidence, unexplained
from fastrelu.data_rules import DATA_RULES
from fastrelu.findings import FINDING_CODES, Finding, rank
from fastrelu.imported import OUTPUT_ACTIVATIONS, ImportedModel
from fastrelu.lr_probe import LR_RULES, run_probe
from fastrelu.measure_net import measure_mlp
from fastrelu.network import MLP
from fastrelu.optim import NAMES as OPTIMIZERS
from fastrelu.report import LayerStats, Report
from fastrelu.rules import COLLAPSE_RATIO

__all__ = ["diagnose", "Report", "LayerStats", "Cause", "Finding", "FINDING_CODES", "COLLAPSE_RATIO"]

MODEL_ACCEPTED = ("a fastrelu.MLP, a fastrelu.ImportedModel, a torch.nn.Module, or the path of a model file "
                  "(.pt, .pth, .safetensors, .npz, .onnx)")
#: Minibatch steps of the learning-rate probe.
PROBE_STEPS = 100


def _check_rows(X: Any) -> np.ndarray:
    """X as an array of at least 2 rows (the network's passes check the rest)."""
    accepted = "a 2-D array (rows, features) with at least 2 rows"
    if isinstance(X, (str, bytes)) or X is None:
        raise v.reject(TypeError, "X", X, accepted)
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"X of dtype {X.dtype} is not accepted; expected {accepted} of real numbers")
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X of shape {X.shape} is not accepted; expected {accepted}")
    return X


def _torch_module(model) -> bool:
    torch = sys.modules.get("torch")   # a torch module exists only if torch was imported
    return torch is not None and isinstance(model, torch.nn.Module)


def _resolve(model, output_activation):
    """(ImportedModel or None, torch module or None) for ``model``."""
    if isinstance(model, MLP):
        return ImportedModel(model, output_activation, "fastrelu.MLP", ()), None
    if isinstance(model, ImportedModel):
        act = model.output_activation if output_activation is None else output_activation
        return ImportedModel(model.net, act, model.source, model.layer_names), None
    if isinstance(model, (str, os.PathLike)):
        from fastrelu.model_files import load_model
        return load_model(model, output_activation=output_activation), None
    if _torch_module(model):
        from fastrelu import torch as bridge
        try:
            imported = bridge.from_torch(model)
        except ValueError:                      # not MLP-shaped: measured through hooks
            return None, model
        act = imported.output_activation if output_activation is None else output_activation
        return ImportedModel(imported.net, act, imported.source, imported.layer_names), None
    raise v.reject(TypeError, "model", model, MODEL_ACCEPTED)


@v.validated(loss=v.Choice(rules.LOSSES, none=True), lr=v.Real(positive=True, none=True),
             optimizer=v.Choice(OPTIMIZERS, none=True), fix=v.Bool(), seeds=v.Int(minimum=2),
             steps=v.Int(minimum=1), output_activation=v.Choice(OUTPUT_ACTIVATIONS, none=True),
             reference_std=v.Real(positive=True, none=True), max_pairs=v.Int(minimum=1), seed=v.Int(minimum=0))
def diagnose(
    model,
    X,
    y=None,
    *,
    loss: str | None = None,
    lr: float | None = None,
    optimizer: str | None = None,
    fix: bool = False,
    seeds: int = 16,
    steps: int = 300,
    output_activation: str | None = None,
    reference_std: float | None = None,
    init: str | None = None,
    history=None,
    max_pairs: int = 2048,
    seed: int = 0,
) -> Report:
    """Measure ``model`` on ``X`` (and ``y``), rank the likely causes of collapsed outputs, and
    with ``fix=True`` measure the candidate fixes.

    Parameters
    ----------
    model : fastrelu.MLP, fastrelu.ImportedModel, torch.nn.Module or path
        A model file is read as data only (``.pt``/``.pth`` with ``torch.load(weights_only=True)``,
        ``.safetensors``, ``.npz``, ``.onnx``). A state_dict holds no activations: its Linear
        layers are read with ReLU between them and ``output_activation`` after the last one.
    X : array_like, shape (n, features)
        At least 2 rows (for a torch module: whatever shape it takes, e.g. images).
    y : array_like, optional
        Targets; enables the loss, gradient norms, the target std of the collapse rule and the
        target findings.
    loss : {"mse", "cross_entropy"}, optional
        Default: cross_entropy for integer labels with more than one output, else mse.
    lr : float, optional
        The learning rate the model is trained with: enables the learning-rate probe (copies
        trained at lr/10, lr and 10 lr; the model is not modified) and sets the measured fixes'.
    optimizer : {"sgd", "adam", "rmsprop"}, optional
        The optimizer the model is trained with (default "sgd").
    fix : bool
        Train ``seeds`` fresh nets of the architecture per candidate fix for ``steps`` steps
        on ``(X, y)`` and report P(collapsed), P(diverged) and the median loss per candidate
        (MLP-shaped models with ``y``).
    seeds, steps : int
        Of the measured fixes.
    output_activation : {"relu", "sigmoid", "softmax", "log_softmax", "tanh"}, optional
        What follows the model's last layer (for a state_dict or an ``fr.MLP``).
    reference_std : float, optional
        Target std to use when ``y`` is absent (default: mean std of the input features).
    init : str, optional
        The initialization's name, for the theory column (default: ``net.init``).
    history : fastrelu.History, optional
        The training history; its ``diverged_at`` and loss curve become evidence.
    max_pairs : int, default 2048
        Pairs of rows for the cosine similarity (all pairs if there are fewer).
    seed : int, default 0
        Seeds the pair sample, the probe's batches and the fixes' seeds.

    Returns
    -------
    Report
        ``findings`` ranked most likely first (codes from :data:`FINDING_CODES`).

    Examples
    --------
    >>> import fastrelu as fr
    >>> X, y = fr.data.teacher(64, 4, seed=0)
    >>> report = fr.diagnose(fr.MLP([4, 8, 1], init="zeros", seed=0), X, y)
    >>> report.collapsed, report.findings[0].code, report.causes[0].cause
    (True, 'zero-init', 'initialization')
    """
    imported, module = _resolve(model, output_activation)
    if module is not None:
        from fastrelu import torch as bridge
        report, output, ev_X = bridge.module_report(module, X, y, loss=loss, reference_std=reference_std)
        y = None if y is None else np.asarray(y)
        return _with_findings(report, Evidence(report, None, history, None, ev_X, y, report.loss_name,
                                               None, output, None))
    net = imported.net
    X = _check_rows(X)
    if X.shape[1] != net.sizes[0]:
        raise ValueError(f"X with {X.shape[1]} features is not accepted; expected {net.sizes[0]} features, the "
                         f"width of the model's input layer ({imported.source})")
    loss = rules.infer_loss(y, net.sizes[-1]) if loss is None else loss
    y = v.check_targets(y, loss, len(X), net.sizes[-1])
    init = net.init if init is None else init
    report, output = _measure(net, X, y, loss, imported.output_activation, reference_std, init, max_pairs, seed)
    report.model = imported.source
    probe = None
    if lr is not None and y is not None and imported.output_activation is None and np.isfinite(X).all():
        probe = run_probe(net, X, y, loss=loss, lr=lr, optimizer=optimizer or "sgd", steps=PROBE_STEPS, seed=seed)
        report.probe = probe.to_dict()
    report = _with_findings(report, Evidence(report, net, history, init, X, y, loss, imported.output_activation,
                                             output, probe))
    if fix:
        report.fixes = _measured_fixes(imported, X, y, loss, lr, optimizer, seeds, steps, report, seed)
    return report


def _measure(net, X, y, loss, output_activation, reference_std, init, max_pairs, seed):
    """:func:`measure_mlp` on the rows of ``X`` that are finite; rows holding NaN/inf make the
    outputs non-finite (so the model counts as collapsed), and the nonfinite-input rule names them."""
    ok = np.isfinite(X).all(axis=1) if X.dtype.kind == "f" else np.ones(len(X), bool)
    if ok.all():
        return measure_mlp(net, X, y, loss=loss, output_activation=output_activation, reference_std=reference_std,
                           init=init, max_pairs=max_pairs, seed=seed)
    if ok.sum() < 2:
        raise ValueError(f"X with {int(ok.sum())} rows free of NaN/inf is not accepted; expected at least 2 "
                         "such rows")
    report, out = measure_mlp(net, X[ok], None if y is None else y[ok], loss=loss, output_activation=output_activation,
                              reference_std=reference_std, init=init, max_pairs=max_pairs, seed=seed)
    full = np.full((len(X), out.shape[1]), np.nan)
    full[ok] = out
    report.finite = False
    report.collapsed = True
    report.output_std = report.output_std_ratio = float("nan")
    report.n_rows = len(X)
    return report, full


def _with_findings(report: Report, e: Evidence) -> Report:
    network = [f for f in (rule(e) for rule in RULES) if f is not None]
    data: list[Finding] = []
    for rule in DATA_RULES + LR_RULES:     # each sees what fired before it
        found = rule(e, data + network)
        if found is not None:
            data.append(found)
    # data first: at equal severity and score the cause upstream (the inputs) is listed first
    fired = data + network
    fired.append(unexplained(e, fired))
    report.findings = rank(fired)
    return report


def _measured_fixes(imported, X, y, loss, lr, optimizer, seeds, steps, report, seed):
    if y is None:
        raise v.reject(ValueError, "fix", True, "fix=False when no targets y are given (the fixes train on y)")
    from fastrelu.fixes import measure_fixes
    return measure_fixes(imported.net, X, y, loss=loss, lr=lr, optimizer=optimizer,
                         output_activation=imported.output_activation, codes=report.finding_codes,
                         seeds=seeds, steps=steps, seed=seed)
