"""Week 1's known-wrong answers: typical mistakes and what their feedback says.

Read by tests/test_questions.py (the reference namespace with ``overrides``
swapped in must fail and name its mistake).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

from gene46100.checks import week1 as checks
from gene46100_ref import week1 as ref
from known_wrong import KnownWrong

SLOW = {"q9"}  # its reference trains for seconds


# ========================================================== wrong answers: q1-q3
def ne_lstsq(X, y):
    return np.linalg.lstsq(X, y, rcond=None)[0]


def ne_with_intercept(X, y):
    design = np.column_stack([np.ones(len(X)), X])
    return np.linalg.lstsq(design, y, rcond=None)[0]


def ne_intercept_slopes(X, y):
    return ne_with_intercept(X, y)[1:]


def ne_column(X, y):
    return ref.normal_equation(X, y)[:, None]


def ne_gram_of_rows(X, y):
    return X.T @ np.linalg.inv(X @ X.T) @ y


def ne_wrong_error(X, y):
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise RuntimeError("singular")
    return ref.normal_equation(X, y)


def mse_half(y_hat, y):
    return 0.5 * ref.mse_loss(y_hat, y)


def mse_rmse(y_hat, y):
    return math.sqrt(ref.mse_loss(y_hat, y))


def mse_sum(y_hat, y):
    return ref.mse_loss(y_hat, y) * np.size(y)


def mse_broadcasts(y_hat, y):
    return float(np.mean((y_hat - y) ** 2))


def mse_asserts(y_hat, y):
    assert np.shape(y_hat) == np.shape(y)
    return ref.mse_loss(y_hat, y)


def mse_tensor(y_hat, y):
    return torch.mean((torch.as_tensor(y_hat) - torch.as_tensor(y)) ** 2)


def grad_scaled(factor: float | str):
    def mse_gradient(X, y, beta):
        scale = len(y) if factor == "m" else factor
        return scale * ref.mse_gradient(X, y, beta)

    return mse_gradient


# ========================================================== wrong answers: q4-q6
def gd_missing_start(X, y, lr, n_steps, beta0=None):
    return ref.gradient_descent(X, y, lr, n_steps, beta0)[1:]


def gd_extra_row(X, y, lr, n_steps, beta0=None):
    return ref.gradient_descent(X, y, lr, n_steps + 1, beta0)


def gd_ignores_beta0(X, y, lr, n_steps, beta0=None):
    return ref.gradient_descent(X, y, lr, n_steps)


def gd_half_gradient(X, y, lr, n_steps, beta0=None):
    return ref.gradient_descent(X, y, lr / 2, n_steps, beta0)


def gd_uphill(X, y, lr, n_steps, beta0=None):
    return ref.gradient_descent(X, y, -lr, n_steps, beta0)


def gd_aliased(X, y, lr, n_steps, beta0=None):
    beta = np.zeros(X.shape[1]) if beta0 is None else np.array(beta0, dtype=float)
    rows = [beta]
    for _ in range(n_steps):
        beta -= lr * ref.mse_gradient(X, y, beta)  # in place: every row is `beta`
        rows.append(beta)
    return np.array(rows)


def gd_clipped(X, y, lr, n_steps, beta0=None):
    beta = np.zeros(X.shape[1]) if beta0 is None else np.array(beta0, dtype=float)
    rows = [beta]
    for _ in range(n_steps):
        grad = ref.mse_gradient(X, y, beta)
        beta = beta - lr * grad / max(1.0, np.linalg.norm(grad))
        rows.append(beta)
    return np.array(rows)


def lr_from_hessian(factor: float, which: str = "max", hessian: str = "2/m"):
    def max_stable_lr(X):
        gram = X.T @ X * (2.0 / len(X) if hessian == "2/m" else 1.0)
        eig = np.linalg.eigvalsh(gram)
        return float(factor / (eig[-1] if which == "max" else eig[0]))

    return max_stable_lr


def lr_singular_value(X):
    return float(len(X) / np.linalg.svd(X, compute_uv=False)[0])


def sgd_steps(X, y, lr, orders, batch_size, keep_last=True, divisor=None):
    """Mini-batch updates over given epoch orders (the skeleton of the variants)."""
    beta = np.zeros(X.shape[1])
    rows = [beta]
    for order in orders:
        stop = len(order) if keep_last else len(order) - len(order) % batch_size
        for start in range(0, stop, batch_size):
            idx = order[start : start + batch_size]
            size = divisor or len(idx)
            beta = beta - lr * (2.0 / size) * X[idx].T @ (X[idx] @ beta - y[idx])
            rows.append(beta)
    return np.array(rows)


def fresh_orders(m: int, n_epochs: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.permutation(m) for _ in range(n_epochs)]


def sgd_same_order(X, y, lr, n_epochs, batch_size, seed):
    order = np.random.default_rng(seed).permutation(len(y))
    return sgd_steps(X, y, lr, [order] * n_epochs, batch_size)


def sgd_reseeded_each_epoch(X, y, lr, n_epochs, batch_size, seed):
    orders = [np.random.default_rng(seed).permutation(len(y)) for _ in range(n_epochs)]
    return sgd_steps(X, y, lr, orders, batch_size)


def sgd_new_rng_per_epoch(X, y, lr, n_epochs, batch_size, seed):
    orders = [
        np.random.default_rng(seed + e).permutation(len(y)) for e in range(n_epochs)
    ]
    return sgd_steps(X, y, lr, orders, batch_size)


def sgd_drops_last(X, y, lr, n_epochs, batch_size, seed):
    orders = fresh_orders(len(y), n_epochs, seed)
    return sgd_steps(X, y, lr, orders, batch_size, keep_last=False)


def sgd_short_batch_mean(X, y, lr, n_epochs, batch_size, seed):
    orders = fresh_orders(len(y), n_epochs, seed)
    return sgd_steps(X, y, lr, orders, batch_size, divisor=batch_size)


def sgd_global_rng(X, y, lr, n_epochs, batch_size, seed):
    orders = [np.random.permutation(len(y)) for _ in range(n_epochs)]
    return sgd_steps(X, y, lr, orders, batch_size)


def sgd_with_replacement(X, y, lr, n_epochs, batch_size, seed):
    rng = np.random.default_rng(seed)
    m = len(y)
    beta, rows = np.zeros(X.shape[1]), [np.zeros(X.shape[1])]
    for _ in range(n_epochs * math.ceil(m / batch_size)):
        idx = rng.choice(m, size=batch_size)
        beta = beta - lr * ref.mse_gradient(X[idx], y[idx], beta)
        rows.append(beta)
    return np.array(rows)


def sgd_half_gradient(X, y, lr, n_epochs, batch_size, seed):
    return ref.sgd(X, y, lr / 2, n_epochs, batch_size, seed)


def sgd_missing_start(X, y, lr, n_epochs, batch_size, seed):
    return ref.sgd(X, y, lr, n_epochs, batch_size, seed)[1:]


# ========================================================== wrong answers: q7, q8
class VariantMLP(nn.Module):
    """The right layers; subclasses change the activation or the output step."""

    def __init__(self, input_dim: int, hid_dim: int, output_dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(input_dim, hid_dim)
        self.fc2 = nn.Linear(hid_dim, output_dim)

    def act(self, z: torch.Tensor) -> torch.Tensor:
        return torch.relu(z)

    def finish(self, z: torch.Tensor) -> torch.Tensor:
        return z.squeeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.finish(self.fc2(self.act(self.fc1(x))))


class MLPNoSqueeze(VariantMLP):
    def finish(self, z):
        return z


class MLPSqueezeAll(VariantMLP):
    def finish(self, z):
        return z.squeeze()


class MLPFlatten(VariantMLP):
    def finish(self, z):
        return z.flatten()


class MLPNoReLU(VariantMLP):
    def act(self, z):
        return z


class MLPSigmoid(VariantMLP):
    def act(self, z):
        return torch.sigmoid(z)


class MLPWrongNames(nn.Module):
    def __init__(self, input_dim: int, hid_dim: int, output_dim: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(input_dim, hid_dim)
        self.out = nn.Linear(hid_dim, output_dim)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x))).squeeze(1)


class MLPIgnoresOutputDim(VariantMLP):
    def __init__(self, input_dim: int, hid_dim: int, output_dim: int) -> None:
        super().__init__(input_dim, hid_dim, 1)


def count_all(model):
    return sum(p.numel() for p in model.parameters())


def count_weights_only(model):
    return sum(p.numel() for n, p in model.named_parameters() if n.endswith("weight"))


def count_tensors(model):
    return len([p for p in model.parameters() if p.requires_grad])


def formula_no_bias(sizes):
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


def formula_bias_per_input(sizes):
    return sum(a * (b + 1) for a, b in zip(sizes[:-1], sizes[1:], strict=True))


# ========================================================== wrong answers: q9, q10
def train_loop(
    model,
    x,
    y,
    lr,
    n_epochs,
    optimizer="sgd",
    *,
    zero_grad=True,
    after=False,
    tensors=False,
    force=None,
    copy_model=False,
):
    """A training loop with switchable mistakes."""
    if copy_model:
        model = copy.deepcopy(model)
    kind = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[force or optimizer]
    opt = kind(model.parameters(), lr=lr)
    losses = []
    for _ in range(n_epochs):
        if zero_grad:
            opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        if after:
            with torch.no_grad():
                loss = nn.functional.mse_loss(model(x), y)
        losses.append(loss.detach() if tensors else loss.item())
    return losses


def train_variant(**flags):
    def train(model, x, y, lr, n_epochs, optimizer="sgd"):
        return train_loop(model, x, y, lr, n_epochs, optimizer, **flags)

    return train


def cheap_curve_mse(x, y):
    """A degree-12 polynomial stands in for a trained MLP (fast, clearly non-linear)."""
    z = (x - x.mean()) / x.std()
    return float(np.mean((np.polyval(np.polyfit(z, y, 12), z) - y) ** 2))


def best_line_mse(x, y, intercept=True):
    return checks.line_mse(np.asarray(x), np.asarray(y), intercept)


def fit_variant(linear, mlp):
    def fit_linear_vs_mlp(x, y, seed):
        return {"linear_mse": linear(x, y), "mlp_mse": mlp(x, y)}

    return fit_linear_vs_mlp


KNOWN_WRONG = [
    KnownWrong(
        "q1", {"normal_equation": ne_lstsq}, "matrix_rank", "lstsq-never-raises"
    ),
    KnownWrong(
        "q1", {"normal_equation": ne_with_intercept}, "no intercept", "adds-intercept"
    ),
    KnownWrong(
        "q1",
        {"normal_equation": ne_intercept_slopes},
        "slopes of a fit with an intercept",
        "intercept-slopes",
    ),
    KnownWrong("q1", {"normal_equation": ne_column}, "1-D", "column-vector"),
    KnownWrong(
        "q1", {"normal_equation": ne_gram_of_rows}, "X.T @ X (p x p)", "inverts-X-XT"
    ),
    KnownWrong(
        "q1",
        {"normal_equation": ne_wrong_error},
        "should raise ValueError or LinAlgError",
        "wrong-exception",
    ),
    KnownWrong("q2", {"mse_loss": mse_half}, "(1/2) MSE", "half"),
    KnownWrong("q2", {"mse_loss": mse_rmse}, "RMSE", "rmse"),
    KnownWrong("q2", {"mse_loss": mse_sum}, "sum of squared errors", "sum"),
    KnownWrong("q2", {"mse_loss": mse_broadcasts}, "broadcast", "silent-broadcasting"),
    KnownWrong("q2", {"mse_loss": mse_asserts}, "raised AssertionError", "assert"),
    KnownWrong("q2", {"mse_loss": mse_tensor}, "should be a float", "returns-tensor"),
    KnownWrong("q3", {"mse_gradient": grad_scaled(0.5)}, "half", "half"),
    KnownWrong("q3", {"mse_gradient": grad_scaled(2.0)}, "twice", "double"),
    KnownWrong("q3", {"mse_gradient": grad_scaled(-1.0)}, "wrong sign", "sign"),
    KnownWrong("q3", {"mse_gradient": grad_scaled("m")}, "missing the 1/m", "no-1/m"),
    KnownWrong(
        "q4", {"gradient_descent": gd_missing_start}, "start row is missing", "no-start"
    ),
    KnownWrong(
        "q4", {"gradient_descent": gd_extra_row}, "one row too many", "extra-row"
    ),
    KnownWrong(
        "q4", {"gradient_descent": gd_ignores_beta0}, "ignores beta0", "ignores-beta0"
    ),
    KnownWrong(
        "q4", {"gradient_descent": gd_half_gradient}, "(1/2) MSE", "half-gradient"
    ),
    KnownWrong(
        "q4",
        {"gradient_descent": gd_half_gradient},
        "makes 1.5 x the limit stable",
        "half-gradient-stays-bounded",
    ),
    KnownWrong("q4", {"gradient_descent": gd_uphill}, "uphill", "uphill"),
    KnownWrong("q4", {"gradient_descent": gd_aliased}, "beta.copy()", "aliased-rows"),
    KnownWrong("q4", {"gradient_descent": gd_clipped}, "stayed bounded", "clipped"),
    KnownWrong(
        "q5", {"max_stable_lr": lr_from_hessian(1.0)}, "fastest-converging", "1/lmax"
    ),
    KnownWrong(
        "q5",
        {"max_stable_lr": lr_from_hessian(2.0, hessian="XtX")},
        "include the 2/m",
        "no-2/m",
    ),
    KnownWrong(
        "q5",
        {"max_stable_lr": lr_from_hessian(2.0, which="min")},
        "smallest eigenvalue",
        "lmin",
    ),
    KnownWrong("q5", {"max_stable_lr": lr_singular_value}, "singular value", "sigma"),
    KnownWrong(
        "q5",
        {"max_stable_lr": lr_from_hessian(1.0)},
        "real limit is higher",
        "1/lmax-converges-above",
    ),
    KnownWrong("q6", {"sgd": sgd_same_order}, "same order", "no-reshuffle"),
    KnownWrong(
        "q6", {"sgd": sgd_reseeded_each_epoch}, "same order", "reseeded-each-epoch"
    ),
    KnownWrong(
        "q6", {"sgd": sgd_new_rng_per_epoch}, "new rng each epoch", "new-rng-per-epoch"
    ),
    KnownWrong("q6", {"sgd": sgd_drops_last}, "short batch is dropped", "drops-last"),
    KnownWrong(
        "q6", {"sgd": sgd_short_batch_mean}, "averaged over batch_size", "short-mean"
    ),
    KnownWrong("q6", {"sgd": sgd_global_rng}, "np.random.*", "global-rng"),
    KnownWrong("q6", {"sgd": sgd_with_replacement}, "with replacement", "replacement"),
    KnownWrong("q6", {"sgd": sgd_missing_start}, "start row", "no-start"),
    KnownWrong("q6", {"sgd": sgd_half_gradient}, "(1/2) MSE", "half-gradient"),
    KnownWrong("q7", {"MLP": MLPNoSqueeze}, "squeeze(1)", "no-squeeze"),
    KnownWrong("q7", {"MLP": MLPSqueezeAll}, "batch of one", "squeeze-all"),
    KnownWrong("q7", {"MLP": MLPFlatten}, "merge the outputs", "flatten"),
    KnownWrong(
        "q7", {"MLP": MLPNoReLU}, "ReLU between fc1 and fc2 is missing", "no-relu"
    ),
    KnownWrong("q7", {"MLP": MLPSigmoid}, "sigmoid", "sigmoid"),
    KnownWrong("q7", {"MLP": MLPWrongNames}, "self.fc1 and self.fc2", "wrong-names"),
    KnownWrong("q7", {"MLP": MLPIgnoresOutputDim}, "wrong shape", "ignores-output-dim"),
    KnownWrong(
        "q8",
        {"count_parameters": count_all},
        "frozen parameters were counted",
        "counts-frozen",
    ),
    KnownWrong(
        "q8", {"count_parameters": count_weights_only}, "biases are missing", "no-bias"
    ),
    KnownWrong("q8", {"count_parameters": count_tensors}, "numel", "counts-tensors"),
    KnownWrong(
        "q8",
        {"mlp_param_count": formula_no_bias},
        "should be 13; got 9",
        "formula-no-bias",
    ),
    KnownWrong(
        "q8",
        {"mlp_param_count": formula_bias_per_input},
        "one bias per input unit",
        "formula-bias-per-input",
    ),
    KnownWrong(
        "q9", {"train": train_variant(zero_grad=False)}, "zero_grad", "no-zero-grad"
    ),
    KnownWrong(
        "q9", {"train": train_variant(after=True)}, "off by one", "loss-after-update"
    ),
    KnownWrong("q9", {"train": train_variant(tensors=True)}, "loss.item()", "tensors"),
    KnownWrong(
        "q9",
        {"train": train_variant(force="sgd")},
        "optimizer argument was ignored",
        "ignores-optimizer",
    ),
    KnownWrong(
        "q9",
        {"train": train_variant(copy_model=True)},
        "did not change",
        "copies-model",
    ),
    KnownWrong(
        "q10",
        {
            "fit_linear_vs_mlp": fit_variant(
                lambda x, y: best_line_mse(x, y, intercept=False), cheap_curve_mse
            )
        },
        "intercept",
        "no-intercept",
    ),
    KnownWrong(
        "q10",
        {
            "fit_linear_vs_mlp": fit_variant(
                lambda x, y: math.sqrt(best_line_mse(x, y)), cheap_curve_mse
            )
        },
        "RMSE",
        "rmse",
    ),
    KnownWrong(
        "q10",
        {
            "fit_linear_vs_mlp": fit_variant(
                lambda x, y: best_line_mse(x, y) / np.var(y), cheap_curve_mse
            )
        },
        "standardised",
        "standardised-units",
    ),
    KnownWrong(
        "q10",
        {"fit_linear_vs_mlp": fit_variant(best_line_mse, best_line_mse)},
        "no better than the best straight line",
        "untrained-mlp",
    ),
    KnownWrong(
        "q10",
        {"fit_linear_vs_mlp": fit_variant(best_line_mse, lambda x, y: math.nan)},
        "not finite",
        "diverged",
    ),
    KnownWrong(
        "q10",
        {
            "fit_linear_vs_mlp": lambda x, y, seed: {
                "linear_mse": torch.tensor(best_line_mse(x, y)),
                "mlp_mse": 0.0,
            }
        },
        "should be a float",
        "tensor-values",
    ),
    KnownWrong(
        "q10",
        {"fit_linear_vs_mlp": fit_variant(best_line_mse, lambda x, y: 0.0)},
        "below the least MSE any model can reach",
        "hardcoded-zero-mlp",
    ),
    KnownWrong(
        "q10",
        {
            "fit_linear_vs_mlp": fit_variant(
                best_line_mse, lambda x, y: best_line_mse(x, y) / 10
            )
        },
        "below the least MSE any model can reach",
        "mlp-claims-a-tenth-of-the-line",
    ),
]
