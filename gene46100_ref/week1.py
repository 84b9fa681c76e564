"""Week 1 reference: linear regression, gradient descent, SGD and an MLP."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from gene46100_ref.seeding import seeded_torch


def _check_design(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``X (m, p)`` and ``y (m,)`` and return them as float64 arrays."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (m, p); got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X; got {y.shape}")
    return X, y


def normal_equation(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares coefficients ``beta = (X^T X)^-1 X^T y`` (no intercept).

    Args:
        X: float ``(m, p)`` design matrix.
        y: float ``(m,)`` targets.

    Returns:
        float64 ``(p,)``.

    Raises:
        np.linalg.LinAlgError: if ``X^T X`` is singular (e.g. duplicate columns).
    """
    X, y = _check_design(X, y)
    # An exactly singular X^T X can survive LU in floating point; test the rank.
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise np.linalg.LinAlgError("X^T X is singular: the columns of X are dependent")
    return np.linalg.solve(X.T @ X, X.T @ y)


def mse_loss(y_hat: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error ``mean((y_hat - y)**2)``, as ``torch.nn.MSELoss()`` (no 1/2).

    Raises:
        ValueError: if the shapes differ (no silent broadcasting).
    """
    y_hat = np.asarray(y_hat, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if y_hat.shape != y.shape:
        raise ValueError(f"y_hat has shape {y_hat.shape} but y has shape {y.shape}")
    return float(np.mean((y_hat - y) ** 2))


def mse_gradient(X: np.ndarray, y: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Gradient of ``mse_loss(X @ beta, y)`` with respect to ``beta``.

    Returns:
        float64 ``(p,)``: ``(2 / m) * X^T (X beta - y)``.
    """
    X, y = _check_design(X, y)
    beta = np.asarray(beta, dtype=np.float64)
    m = X.shape[0]
    return (2.0 / m) * X.T @ (X @ beta - y)


def gradient_descent(
    X: np.ndarray,
    y: np.ndarray,
    lr: float,
    n_steps: int,
    beta0: np.ndarray | None = None,
) -> np.ndarray:
    """Full-batch gradient descent on the MSE.

    Returns:
        float64 ``(n_steps + 1, p)``: row 0 is ``beta0`` (zeros by default), row ``t``
        the coefficients after ``t`` updates.
    """
    X, y = _check_design(X, y)
    p = X.shape[1]
    beta = np.zeros(p) if beta0 is None else np.array(beta0, dtype=np.float64)
    trajectory = [beta.copy()]
    for _ in range(n_steps):
        beta = beta - lr * mse_gradient(X, y, beta)
        trajectory.append(beta.copy())
    return np.stack(trajectory)


def max_stable_lr(X: np.ndarray) -> float:
    """Largest learning rate for which full-batch GD on the MSE does not diverge.

    The Hessian of the MSE is ``H = (2 / m) X^T X``; GD is stable while
    ``lr < 2 / lambda_max(H)``.
    """
    X = np.asarray(X, dtype=np.float64)
    m = X.shape[0]
    hessian = (2.0 / m) * X.T @ X
    return float(2.0 / np.linalg.eigvalsh(hessian)[-1])


def sgd(
    X: np.ndarray,
    y: np.ndarray,
    lr: float,
    n_epochs: int,
    batch_size: int,
    seed: int,
) -> np.ndarray:
    """Mini-batch SGD on the MSE, starting from zeros.

    One ``rng = np.random.default_rng(seed)`` is made once; each epoch visits the
    samples in the order ``rng.permutation(m)``, in batches of ``batch_size`` (the last
    batch may be short).

    Returns:
        float64 ``(1 + n_epochs * ceil(m / batch_size), p)``: the start, then one row
        per update.
    """
    X, y = _check_design(X, y)
    m, p = X.shape
    rng = np.random.default_rng(seed)
    beta = np.zeros(p)
    trajectory = [beta.copy()]
    for _ in range(n_epochs):
        order = rng.permutation(m)
        for start in range(0, m, batch_size):
            batch = order[start : start + batch_size]
            beta = beta - lr * mse_gradient(X[batch], y[batch], beta)
            trajectory.append(beta.copy())
    return np.stack(trajectory)


class MLP(nn.Module):
    """One hidden layer: ``fc1 -> ReLU -> fc2``, output squeezed to ``(N,)``."""

    def __init__(self, input_dim: int, hid_dim: int, output_dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(input_dim, hid_dim)
        self.fc2 = nn.Linear(hid_dim, output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map float32 ``(N, input_dim)`` to ``(N,)`` (``(N, output_dim)`` if > 1)."""
        return self.fc2(torch.relu(self.fc1(x))).squeeze(1)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (entries of tensors with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def mlp_param_count(layer_sizes: list[int]) -> int:
    """Parameters of a fully connected net with these layer widths, by formula.

    Each layer ``a -> b`` has ``a * b`` weights and ``b`` biases:
    ``[2, 3, 1] -> 13``, ``[1, 1024, 1] -> 3073``.
    """
    return sum((a + 1) * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))


def train(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    n_epochs: int,
    optimizer: str = "sgd",
) -> list[float]:
    """Full-batch training with ``MSELoss``; returns the learning curve.

    Args:
        model: maps float32 ``(n, input_dim)`` to ``(n,)``.
        x: float32 ``(n, input_dim)``; y: float32 ``(n,)``.
        lr: learning rate. n_epochs: number of full-batch updates.
        optimizer: ``"sgd"`` or ``"adam"``.

    Returns:
        ``n_epochs`` floats: the loss of each epoch, measured before its update.
    """
    optimizers = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}
    if optimizer not in optimizers:
        raise ValueError(f"optimizer must be one of {sorted(optimizers)}; got {optimizer!r}")
    device = next(model.parameters()).device
    x, y = x.to(device), y.to(device)
    opt = optimizers[optimizer](model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    losses = []
    model.train()
    for _ in range(n_epochs):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    return losses


def fit_linear_vs_mlp(x: np.ndarray, y: np.ndarray, seed: int) -> dict[str, float]:
    """Fit a least-squares line (with intercept) and an MLP to 1-D data; compare MSEs.

    Args:
        x, y: float ``(n,)``.
        seed: seeds the MLP's initial weights.

    Returns:
        ``{"linear_mse": float, "mlp_mse": float}``, both measured on ``(x, y)``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    design = np.column_stack([x, np.ones_like(x)])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    linear_mse = mse_loss(design @ coef, y)
    # Standardising makes one learning rate work whatever the scale of x and y.
    x_std, y_std = x.std() or 1.0, y.std() or 1.0
    xt = torch.tensor((x - x.mean()) / x_std, dtype=torch.float32).unsqueeze(1)
    yt = torch.tensor((y - y.mean()) / y_std, dtype=torch.float32)
    with seeded_torch(seed):
        model = MLP(1, 64, 1)
    train(model, xt, yt, lr=0.01, n_epochs=1500, optimizer="adam")
    with torch.no_grad():
        y_hat = model(xt).double().numpy() * y_std + y.mean()
    return {"linear_mse": linear_mse, "mlp_mse": mse_loss(y_hat, y)}
