"""How a network is described to the kernels: one int64 row per layer.

A network with ``L`` layers (``len(sizes) - 1``) is an ``(L, NCOLS)`` int64 array ``arch``.
Parameters live in one flat buffer ``theta``; for layer ``l`` the weight matrix (out, in),
row-major as ``torch.nn.Linear``, starts at ``arch[l, W_OFF]``, the bias at ``arch[l, B_OFF]``,
and, for batch-normalized layers, the scale and shift at ``arch[l, G_OFF]`` and
``arch[l, BE_OFF]`` (``-1`` when absent). Per-row activations of all layers are stored side by
side: layer ``l`` occupies columns ``arch[l, C_OFF] : arch[l, C_OFF] + arch[l, OUT]`` of an
``(n, total_width)`` workspace, and the same offset indexes per-unit batch-norm statistics.
"""
from __future__ import annotations

IN = 0
OUT = 1
W_OFF = 2
B_OFF = 3
G_OFF = 4
BE_OFF = 5
KIND = 6
BN = 7
C_OFF = 8
NCOLS = 9

#: Layer kinds.
PLAIN = 0      # h' = relu(u)
RESIDUAL = 1   # h' = h + s * relu(u)
OUTPUT = 2     # h' = u (linear)

#: What ``evaluate.predict`` records besides the output, per hidden layer.
NO_HIDDEN = 0               # nothing
HIDDEN_OUTPUTS = 1          # its output (after ReLU and residual add)
HIDDEN_PREACTIVATIONS = 2   # its ReLU input (after batch norm)

#: Loss codes.
MSE = 0
CROSS_ENTROPY = 1

#: Optimizer codes and the layout of their float64 hyper-parameter vector.
SGD = 0
ADAM = 1
RMSPROP = 2
H_LR = 0
H_MOMENTUM = 1
H_WEIGHT_DECAY = 2
H_BETA1 = 3
H_BETA2 = 4
H_EPS = 5
H_ALPHA = 6
H_CLIP = 7       # clip_norm, <= 0 means off
NHYPER = 8
