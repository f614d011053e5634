"""Likely causes read off the data and the output side: inputs, targets, output activation, loss.

Each rule reads an :class:`~fastrelu.causes.Evidence` (the user's ``X``, ``y``, ``loss``,
``output_activation`` and the model's output after that activation) plus the findings of the
network rules, and returns a :class:`~fastrelu.findings.Finding` quoting the numbers that
triggered it, or None. Thresholds are module constants, so a reader can see what fires.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from fastrelu._format import fmt as _g
from fastrelu.causes import Evidence
from fastrelu.findings import Finding

__all__ = ["DATA_RULES", "UNSCALED_RMS", "IMBALANCE_SHARE"]

#: A feature whose root mean square exceeds this is far from unit scale.
UNSCALED_RMS = 100.0
#: The majority class holding at least this share of the labels is a heavy imbalance.
IMBALANCE_SHARE = 0.8
#: A model predicting one class for at least this share of rows "always" predicts it.
ALWAYS = 0.99
#: The collapsed output's mean within this many target stds of the target mean: "learned the mean".
MEAN_TOLERANCE = 0.05
#: An output std below this fraction of the target's is "nearly constant" (the collapse rule's
#: 1e-3 is the strict verdict; a model that learned the mean approaches it slowly).
NEARLY_CONSTANT = 0.05


def _finding(code, severity, message, fix, cause, score, **evidence) -> Finding:
    return Finding(code, severity, message, evidence, fix, cause, score)


def _has_error(fired: list) -> bool:
    return any(f.severity == "error" for f in fired)


def nonfinite_input(e: Evidence, fired: list) -> Finding | None:
    """NaN or inf in X."""
    X = e.X
    bad = ~np.isfinite(X) if X.dtype.kind == "f" else np.zeros(X.shape, bool)
    if not bad.any():
        return None
    rows, cols = int(bad.any(axis=1).sum()), np.flatnonzero(bad.any(axis=0))
    return _finding("nonfinite-input", "error", f"X holds {int(bad.sum())} NaN/inf entries in {rows} of "
                    f"{len(X)} rows (features {', '.join(map(str, cols[:8]))}{' ...' if cols.size > 8 else ''}): "
                    "every output that depends on them is NaN, and one NaN in a batch makes every gradient NaN",
                    "impute or drop the non-finite values before training and prediction", "data", 1.0,
                    nonfinite_entries=int(bad.sum()), rows=rows, features=cols[:64].tolist())


def constant_input(e: Evidence, fired: list) -> Finding | None:
    """Every row identical (all features constant), or some features constant."""
    _, sd = e.feature_stats
    const = np.flatnonzero(sd == 0)
    if const.size == 0:
        return None
    if const.size == e.X.shape[1]:
        return _finding("constant-input", "error", f"every row of X is the same ({len(e.X)} rows, all "
                        f"{e.X.shape[1]} features with std 0): no model can tell the inputs apart",
                        "check the data pipeline (a broadcast, a wrong column, an image read as zeros)",
                        "data", 1.0, constant_features=int(const.size), features=int(e.X.shape[1]))
    return _finding("constant-input", "info", f"{const.size} of {e.X.shape[1]} features of X are constant "
                    f"(features {', '.join(map(str, const[:8]))}{' ...' if const.size > 8 else ''}); they carry "
                    "no information", "drop the constant features", "data", 0.2,
                    constant_features=int(const.size), features=const[:64].tolist())


def unscaled_input(e: Evidence, fired: list) -> Finding | None:
    """Features far from unit scale (raw pixel values, prices, counts)."""
    rms, sd = e.feature_stats
    big = np.flatnonzero(rms > UNSCALED_RMS)
    if big.size == 0:
        return None
    worst = int(big[np.argmax(rms[big])])
    severity = "error" if e.report.collapsed else "warning"
    return _finding("unscaled-input", severity, f"{big.size} of {e.X.shape[1]} features have a root mean "
                    f"square above {UNSCALED_RMS:g} (largest: feature {worst}, RMS {_g(rms[worst])}, std "
                    f"{_g(sd[worst])}): pre-activations and the first gradients are that many times too large, "
                    "which kills units or diverges training (or the data was scaled for training but not here)",
                    "standardize every feature (subtract the mean, divide by the std of the training data) for "
                    "training and for prediction", "data", 1.0 if e.report.collapsed else 0.6,
                    unscaled_features=int(big.size), largest_rms=float(rms[worst]), feature=worst,
                    threshold=UNSCALED_RMS)


def output_activation(e: Evidence, fired: list) -> Finding | None:
    """A ReLU after the last layer (always 0), or a bounded output for targets outside its range."""
    act, out = e.output_activation, e.output
    if act == "relu":
        zero_rows = float(np.mean(np.all(out == 0, axis=1)))
        numbers = {"output_activation": act, "rows_all_zero": zero_rows}
        if zero_rows >= ALWAYS:
            return _finding("output-activation", "error", f"a ReLU follows the output layer and {100 * zero_rows:.0f}% "
                            "of the rows output exactly 0: the ReLU passes no gradient below 0, so once the outputs "
                            "go negative they stay at 0", "remove the ReLU after the last layer (a regression "
                            "output is linear; a classifier outputs logits)", "output layer", 0.99, **numbers)
        neg = float(np.mean(np.asarray(e.y, np.float64) < 0)) if e.y is not None and e.loss == "mse" else 0.0
        return _finding("output-activation", "warning", f"a ReLU follows the output layer ({100 * zero_rows:.0f}% "
                        f"of rows output 0{f', {100 * neg:.0f}% of the targets are negative and unreachable' if neg else ''}): "
                        "outputs that go below 0 get no gradient", "remove the ReLU after the last layer",
                        "output layer", 0.5, negative_targets=neg, **numbers)
    if act in ("sigmoid", "tanh") and e.y is not None and e.loss == "mse":
        lo = 0.0 if act == "sigmoid" else -1.0
        y = np.asarray(e.y, np.float64)
        outside = float(np.mean((y < lo) | (y > 1.0)))
        if outside > 0:
            return _finding("output-activation", "warning", f"a {act} bounds the outputs to ({lo:g}, 1) but "
                            f"{100 * outside:.0f}% of the targets lie outside it: those targets are unreachable "
                            "and saturate the output", "remove the output activation, or rescale the targets",
                            "output layer", 0.5, output_activation=act, targets_outside=outside)
    return None


def single_unit_softmax(e: Evidence, fired: list) -> Finding | None:
    """Softmax over one output unit is 1 for every input."""
    if e.output_activation not in ("softmax", "log_softmax") or e.output.shape[1] != 1:
        return None
    value = "1" if e.output_activation == "softmax" else "0"
    return _finding("single-unit-softmax", "error", f"a {e.output_activation} over a single output unit is "
                    f"{value} for every input, whatever the network computes", "for two classes use one logit "
                    "with a sigmoid (BCEWithLogitsLoss), or two outputs with softmax", "output layer", 1.0,
                    output_activation=e.output_activation, output_units=1)


def double_softmax(e: Evidence, fired: list) -> Finding | None:
    """Softmax outputs fed to a cross-entropy that applies log-softmax itself."""
    if e.output_activation != "softmax" or e.loss != "cross_entropy" or e.output.shape[1] < 2:
        return None
    top = float(np.mean(np.max(e.output, axis=1)))
    severity = "error" if e.report.collapsed else "warning"
    return _finding("double-softmax", severity, f"the model ends in softmax (mean top probability {top:.3f}) "
                    "and is trained with a cross-entropy that applies log-softmax itself (torch's "
                    "CrossEntropyLoss, Keras' from_logits=True): the loss sees squashed logits in [0, 1], its "
                    "gradients shrink, and training stalls or drifts to the majority class",
                    "remove the softmax from the model (apply it only when you need probabilities)",
                    "output layer", 0.9, mean_top_probability=top)


def target_shape(e: Evidence, fired: list) -> Finding | None:
    """Collapsed onto the target mean: the symptom of MSE between (n, 1) outputs and (n,) targets."""
    if e.y is None or e.loss != "mse" or np.ndim(e.y) != 1 or e.output.shape[1] != 1 or e.output_activation:
        return None
    ratio = e.report.output_std_ratio
    if _has_error(fired) or not e.report.finite or not ratio <= NEARLY_CONSTANT:
        return None
    y = np.asarray(e.y, np.float64)
    mean_out, mean_y, sd_y = float(np.mean(e.output)), float(np.mean(y)), float(np.std(y))
    if sd_y == 0 or abs(mean_out - mean_y) > MEAN_TOLERANCE * sd_y:
        return None
    return _finding("target-shape", "error" if e.report.collapsed else "warning", f"the network is alive but "
                    f"outputs nearly the target mean for every input (output std ratio {_g(ratio)}, mean output "
                    f"{_g(mean_out)} vs mean of y {_g(mean_y)}, target std {_g(sd_y)}), and y has "
                    f"shape ({len(y)},) against outputs ({len(y)}, 1): an MSE between the two broadcasts to "
                    f"({len(y)}, {len(y)}), whose minimum is the mean", "give the targets the outputs' shape "
                    "(y.reshape(-1, 1), or y.unsqueeze(1)) before the loss", "target shape", 0.9,
                    output_mean=mean_out, target_mean=mean_y, target_std=sd_y, output_std_ratio=ratio,
                    y_shape=[len(y)])


def class_imbalance(e: Evidence, fired: list) -> Finding | None:
    """One class holds most labels; the model predicting it everywhere is the collapse of a classifier."""
    if e.y is None or e.loss != "cross_entropy":
        return None
    labels = np.asarray(e.y).astype(np.int64).ravel()
    counts = np.bincount(labels, minlength=max(2, e.output.shape[1]))
    major = int(np.argmax(counts))
    share = float(counts[major] / counts.sum())
    if share < IMBALANCE_SHARE:
        return None
    numbers = {"majority_class": major, "majority_share": share, "class_counts": counts.tolist()}
    pred = np.argmax(e.output, axis=1) if e.report.finite else None
    always = pred is not None and float(np.mean(pred == major)) >= ALWAYS
    if always:
        numbers["predicted_majority_share"] = float(np.mean(pred == major))
    return _finding("class-imbalance", "error" if always else "warning",
                    f"class {major} holds {100 * share:.1f}% of the labels"
                    + (f" and the model predicts it for {100 * numbers['predicted_majority_share']:.1f}% of rows"
                       if always else "") + ": predicting the majority everywhere is a cheap minimum of the loss",
                    "weight the loss by inverse class frequency (CrossEntropyLoss(weight=...)) or resample the "
                    "classes", "class imbalance", 0.8, **numbers)


#: Every data rule, in the order their findings are listed at equal severity and score.
DATA_RULES: tuple[Callable[[Evidence, list], Finding | None], ...] = (
    nonfinite_input, constant_input, unscaled_input, output_activation, single_unit_softmax,
    double_softmax, class_imbalance, target_shape,
)
