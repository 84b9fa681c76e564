"""The course notebook's own data sets, simulated (nothing is downloaded).

The training benchmark times the course's original recipes on them, as the baseline
the graded questions are compared with.
"""

from __future__ import annotations

import numpy as np


def make_linear_data(
    n_samples: int = 1000,
    n_features: int = 2,
    noise: float = 10.0,
    seed: int = 42,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear data like the course's ``make_regression`` set (no intercept).

    Features are standard normal, true coefficients uniform in [0, 100).

    Returns:
        X: float64 ``(n_samples, n_features)``.
        y: float64 ``(n_samples,)``, ``X @ coef + noise * N(0, 1)``.
        coef: float64 ``(n_features,)``, the true coefficients.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    coef = 100.0 * rng.random(n_features)
    y = X @ coef + noise * rng.standard_normal(n_samples)
    return X, y, coef


def make_cubic_data(
    n_samples: int = 1000, seed: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free points on ``y = x**3`` with ``x ~ N(0, 1)`` (the course's cubic set).

    Returns:
        x: float64 ``(n_samples,)``; y: float64 ``(n_samples,)``.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n_samples)
    return x, x**3
