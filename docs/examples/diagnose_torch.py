"""The README's "Diagnose your own model" example: a PyTorch MLP initialized the old way
(weights ~ N(0, 0.01), as in many tutorials), trained, diagnosed, and saved for the CLI.

Run: python docs/examples/diagnose_torch.py [folder]   (writes model.pt and data.npz there)
"""
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

import fastrelu as fr

folder = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
torch.manual_seed(0)
rng = np.random.default_rng(0)
X = rng.normal(size=(10_000, 20)).astype(np.float32)
y = (np.sin(X[:, :5]).sum(axis=1) + 0.1 * rng.normal(size=10_000)).astype(np.float32)

model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                      nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
for m in model:
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, std=0.01)   # "small random weights"
        nn.init.zeros_(m.bias)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
Xt, yt = torch.from_numpy(X), torch.from_numpy(y).unsqueeze(1)
for epoch in range(5):
    for i in range(0, len(X), 64):
        loss = nn.functional.mse_loss(model(Xt[i:i + 64]), yt[i:i + 64])
        opt.zero_grad()
        loss.backward()
        opt.step()
print(f"final minibatch loss {loss.item():.3f}; output std {model(Xt).std().item():.2e}; target std {y.std():.3f}")

report = fr.diagnose(model, X, y, lr=0.01)
print(report.collapsed, report.finding_codes)
for f in report.findings:
    print(f"{f.severity} {f.code}: {f.message}\n  fix: {f.fix}")

torch.save(model.state_dict(), folder / "model.pt")
np.savez(folder / "data.npz", X=X, y=y)
