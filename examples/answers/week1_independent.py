"""An independent completion of week 1, written apart from the reference.

Each top-level definition replaces the student-notebook answer cell that defines the
same name (see examples/make_examples.py). Different code, same contract.
"""

import math

import numpy as np
import torch
from torch import nn


def normal_equation(X, y):
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    gram = X.T @ X
    if np.linalg.matrix_rank(gram) < gram.shape[0]:
        raise ValueError("X^T X is singular")
    return np.linalg.solve(gram, X.T @ y)


def mse_loss(y_hat, y):
    y_hat, y = np.asarray(y_hat, float), np.asarray(y, float)
    if y_hat.shape != y.shape:
        raise ValueError(f"shapes differ: {y_hat.shape} vs {y.shape}")
    residual = y_hat - y
    return (
        float(residual @ residual / residual.size)
        if residual.ndim == 1
        else float(np.mean(residual**2))
    )


def mse_gradient(X, y, beta):
    X, y, beta = (np.asarray(a, float) for a in (X, y, beta))
    residual = X @ beta - y
    return 2.0 * (X.T @ residual) / len(y)


def gradient_descent(X, y, lr, n_steps, beta0=None):
    X = np.asarray(X, float)
    beta = np.zeros(X.shape[1]) if beta0 is None else np.asarray(beta0, float).copy()
    out = np.empty((n_steps + 1, X.shape[1]))
    out[0] = beta
    for t in range(1, n_steps + 1):
        beta = beta - lr * mse_gradient(X, y, beta)
        out[t] = beta
    return out


def max_stable_lr(X):
    X = np.asarray(X, float)
    top = np.linalg.svd(X, compute_uv=False)[0] ** 2  # largest eigenvalue of X^T X
    return float(X.shape[0] / top)


def sgd(X, y, lr, n_epochs, batch_size, seed):
    X, y = np.asarray(X, float), np.asarray(y, float)
    m = len(y)
    rng = np.random.default_rng(seed)
    beta = np.zeros(X.shape[1])
    rows = [beta]
    for _ in range(n_epochs):
        idx = rng.permutation(m)
        for b in range(math.ceil(m / batch_size)):
            sel = idx[b * batch_size : (b + 1) * batch_size]
            beta = beta - lr * mse_gradient(X[sel], y[sel], beta)
            rows.append(beta)
    return np.array(rows)


class MLP(nn.Module):
    def __init__(self, input_dim, hid_dim, output_dim):
        super().__init__()
        self.fc1 = nn.Linear(input_dim, hid_dim)
        self.fc2 = nn.Linear(hid_dim, output_dim)
        self.act = nn.ReLU()

    def forward(self, x):
        hidden = self.act(self.fc1(x))
        return self.fc2(hidden).squeeze(1)


def count_parameters(model):
    total = 0
    for p in model.parameters():
        if p.requires_grad:
            total += p.numel()
    return total


def mlp_param_count(layer_sizes):
    total = 0
    for fan_in, fan_out in zip(layer_sizes, layer_sizes[1:]):
        total += fan_in * fan_out + fan_out
    return total


def train(model, x, y, lr, n_epochs, optimizer="sgd"):
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr)
    elif optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    else:
        raise ValueError(f"unknown optimizer {optimizer}")
    criterion = nn.MSELoss()
    history = []
    for _ in range(n_epochs):
        prediction = model(x)
        loss = criterion(prediction, y)
        history.append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return history


def fit_linear_vs_mlp(x, y, seed):
    x, y = np.asarray(x, float), np.asarray(y, float)
    A = np.stack([np.ones_like(x), x], axis=1)
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    linear_mse = float(np.mean((A @ coef - y) ** 2))
    mu, sd = x.mean(), x.std() + 1e-12
    ymu, ysd = y.mean(), y.std() + 1e-12
    xt = torch.tensor((x - mu) / sd, dtype=torch.float32)[:, None]
    yt = torch.tensor((y - ymu) / ysd, dtype=torch.float32)
    g = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Linear(1, 128), nn.ReLU(), nn.Linear(128, 1))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(2000):
        opt.zero_grad()
        loss = ((model(xt).squeeze(1) - yt) ** 2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = model(xt).squeeze(1).double().numpy() * ysd + ymu
    return {"linear_mse": linear_mse, "mlp_mse": float(np.mean((pred - y) ** 2))}
