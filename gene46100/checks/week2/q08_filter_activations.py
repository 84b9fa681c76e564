"""week2 q8: ``get_filter_activations`` against the reference.

For random ``Conv1d`` layers (the default, a positive and a negative threshold) the
summed one-hot windows where each filter's pre-ReLU activation exceeds
``act_thresh``, an array of shape ``(num_filters, 4, k)``; and a filter built for
TAT counts exactly the TAT windows. The reference ``one_hot_encode`` is swapped in,
so that a q3 slip does not cost q8.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    close,
    expect_array,
    guarded,
    outcome_value,
)
from gene46100.checks.helpers import (
    first_match,
    register_state,
    wrong,
)
from gene46100.checks.known import KnownWrong
from gene46100.checks.week2.common import (
    ADAPTERS,
    ATGC_COLUMNS,
    plant,
    random_dna,
    ref,
    uniform_state,
)
from gene46100.contract.results import QuestionRun


@dataclass(frozen=True)
class Layer:
    """One call: the hidden sequences, the layer's weights and the threshold."""

    seqs: list[str]
    state: dict[str, np.ndarray]  # weight (num_filters, 4, k), bias (num_filters,)
    thresh: float | None  # act_thresh passed (None: the default)


@dataclass
class Facts:
    """What scoring reads (trusted-only): each case's sequences and layer."""

    cases: dict[str, Layer] = field(default_factory=dict)


class Q8FilterActivations(Question):
    """q8: ``get_filter_activations`` vs the reference; a TAT filter finds TAT."""

    name = "q8"
    names = ("get_filter_activations",)
    provides = ("one_hot_encode",)  # a q3 slip must not cost q8
    adapters = ADAPTERS

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        plan = Plan(facts=Facts())
        cases = plan.facts.cases
        for case, (n, L, nf, k, thresh) in {
            "default": (60, 8, 5, 3, None),
            "positive": (40, 12, 4, 5, 0.7),
            "negative": (50, 10, 3, 4, -0.5),
        }.items():
            seqs = [random_dna(rng, L, "ACGT" if i % 7 else "ACGTN") for i in range(n)]
            state = random_layer(rng, seqs, nf, k, thresh or 0.0)
            cases[case] = Layer(seqs, state, thresh)
        seqs = [random_dna(rng, 8) for _ in range(80)]
        seqs = [plant(rng, s, "TAT") if i % 3 == 0 else s for i, s in enumerate(seqs)]
        cases["tat"] = Layer(seqs, motif_layer(), 2.0)
        for case, c in cases.items():
            nf, _, k = c.state["weight"].shape
            layer = {
                "$new": "_grader_Conv1d",
                "args": [4, int(nf), int(k)],
                "state": register_state(plan, case, c.state),
            }
            kwargs = {} if c.thresh is None else {"act_thresh": c.thresh}
            plan.call(case, "get_filter_activations", c.seqs, layer, **kwargs)
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        cases = plan.facts.cases
        return [
            guarded(
                "an array of shape (num_filters, 4, k)",
                lambda: self._shapes(run, cases),
            ),
            guarded(
                "matches the reference on random layers and thresholds",
                lambda: self._values(run, cases, ("default", "positive", "negative")),
                weight=2.0,
            ),
            guarded(
                "a filter built for TAT counts exactly the TAT windows",
                lambda: self._values(run, cases, ("tat",)),
            ),
        ]

    @staticmethod
    def _what(case: str, c: Layer) -> str:
        seqs, thresh = c.seqs, c.thresh
        nf, _, k = c.state["weight"].shape
        if case == "tat":
            return (
                f"get_filter_activations on {len(seqs)} hidden 8-mers with a TAT "
                f"filter and act_thresh={thresh}"
            )
        shown = "the default act_thresh" if thresh is None else f"act_thresh={thresh}"
        return (
            f"get_filter_activations on {len(seqs)} hidden sequences, {nf} random "
            f"filters of width {k} and {shown}"
        )

    def _counts(self, run: QuestionRun, case: str, c: Layer) -> tuple[str, np.ndarray]:
        what = self._what(case, c)
        got = expect_array(outcome_value(run, case, what), what)
        nf, _, k = c.state["weight"].shape
        if got.shape != (nf, 4, k):
            hint = (
                ": that is (num_filters, k, 4); rows must be A, C, G, T and columns "
                "the window positions"
                if got.shape == (nf, k, 4)
                else ""
            )
            raise Mismatch(
                f"{what} should have shape ({nf}, 4, {k}); got {got.shape}{hint}"
            )
        return what, got

    def _shapes(self, run: QuestionRun, cases: dict[str, Layer]) -> None:
        for case, c in cases.items():
            self._counts(run, case, c)

    def _values(
        self, run: QuestionRun, cases: dict[str, Layer], names: Sequence[str]
    ) -> None:
        for case in names:
            c = cases[case]
            what, got = self._counts(run, case, c)
            seqs, state, thresh = c.seqs, c.state, c.thresh
            expected = activation_counts(seqs, state, 0.0 if thresh is None else thresh)
            if not close(got, expected, rtol=0.0, atol=1e-6):
                raise wrong(
                    what,
                    got,
                    expected,
                    first_match(got, q8_candidates(seqs, state, thresh), 0.0, 1e-6),
                    "for each filter add the one-hot (4, k) window wherever "
                    "conv_layer(x) > act_thresh (bias included, before ReLU)",
                )


def random_layer(
    rng: np.random.Generator, seqs: Sequence[str], nf: int, k: int, thresh: float
) -> dict[str, np.ndarray]:
    """Random filters whose activations stay clear of the threshold (no ties)."""
    state = uniform_state(
        rng, {"weight": (nf, 4, k), "bias": (nf,)}, {"weight": 1, "bias": 1}
    )
    while True:
        acts = layer_activations(seqs, state)
        if min(np.min(np.abs(a - thresh)) for a in acts) > 1e-3:
            return state
        state["bias"] = (state["bias"] + 0.0137).astype(np.float32)


def motif_layer() -> dict[str, np.ndarray]:
    """Filter 0 = one-hot TAT (bias 0): 2 matches sit exactly on the threshold 2.0.

    Filter 1 = one-hot GCG with bias 1: at threshold 2 it counts windows with two or
    three GCG matches.
    """
    weight = np.stack([ref.one_hot_encode(m).T for m in ("TAT", "GCG")])  # (2, 4, 3)
    return {
        "weight": weight.astype(np.float32),
        "bias": np.array([0.0, 1.0], np.float32),
    }


def layer_activations(seqs: Sequence[str], state: dict) -> list[np.ndarray]:
    """Pre-ReLU activations ``(num_filters, W)`` of each sequence, as a Conv1d gives."""
    w, b = torch.from_numpy(state["weight"]), torch.from_numpy(state["bias"])
    with torch.no_grad():
        return [
            F.conv1d(torch.from_numpy(ref.one_hot_encode(s).T.copy())[None], w, b)[
                0
            ].numpy()
            for s in seqs
        ]


def activation_counts(
    seqs: Sequence[str],
    state: dict,
    thresh: float,
    fires: Callable[[np.ndarray, float], np.ndarray] = lambda a, t: a > t,
    bias: bool = True,
    rows: Sequence[int] = (0, 1, 2, 3),
) -> np.ndarray:
    """Summed one-hot windows per filter, under a (possibly wrong) firing rule."""
    nf, _, k = state["weight"].shape
    use = dict(state) if bias else {**state, "bias": np.zeros_like(state["bias"])}
    counts = np.zeros((nf, 4, k))
    for seq, act in zip(seqs, layer_activations(seqs, use), strict=True):
        x = ref.one_hot_encode(seq).T.astype(np.float64)[list(rows)]  # (4, L)
        for f in range(nf):
            for i in np.flatnonzero(fires(act[f], thresh)):
                counts[f] += x[:, i : i + k]
    return counts


def q8_candidates(seqs: Sequence[str], state: dict, thresh: float | None) -> list:
    t = 0.0 if thresh is None else thresh
    return [
        (
            "the activations were taken after the ReLU; use the conv layer's output "
            "(bias included, before ReLU): with a negative threshold every window "
            "counts after a ReLU",
            lambda: activation_counts(
                seqs, state, t, fires=lambda a, u: np.maximum(a, 0) > u
            ),
        ),
        (
            "a window counts when its activation is strictly greater than act_thresh "
            "(>, not >=)",
            lambda: activation_counts(seqs, state, t, fires=lambda a, u: a >= u),
        ),
        (
            "the bias was left out; the activation is the conv output, bias included",
            lambda: activation_counts(seqs, state, t, bias=False),
        ),
        (
            "the rows are in A, T, G, C order; they are A, C, G, T",
            lambda: activation_counts(seqs, state, t, rows=ATGC_COLUMNS),
        ),
        (
            "windows below the threshold were counted instead of above it",
            lambda: activation_counts(seqs, state, t, fires=lambda a, u: a < u),
        ),
    ]


# ------------------------------------------------------------------ known wrong
def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``get_filter_activations`` answers and what their feedback
    says."""

    def variant(**flags):
        def get_filter_activations(seqs, conv_layer, act_thresh=0):
            state = {k: v.detach().numpy() for k, v in conv_layer.state_dict().items()}
            return activation_counts(seqs, state, act_thresh, **flags)

        return get_filter_activations

    def transposed(seqs, conv_layer, act_thresh=0):
        counts = ref.get_filter_activations(seqs, conv_layer, act_thresh)
        return counts.transpose(0, 2, 1)

    return [
        KnownWrong(
            {
                "get_filter_activations": variant(
                    fires=lambda a, t: np.maximum(a, 0) > t
                )
            },
            "after the ReLU",
            "post-relu",
        ),
        KnownWrong(
            {"get_filter_activations": variant(fires=lambda a, t: a >= t)},
            "(>, not >=)",
            "greater-equal",
        ),
        KnownWrong(
            {"get_filter_activations": variant(bias=False)},
            "bias was left out",
            "no-bias",
        ),
        KnownWrong(
            {"get_filter_activations": variant(rows=ATGC_COLUMNS)},
            "A, T, G, C order",
            "atgc-rows",
        ),
        KnownWrong(
            {"get_filter_activations": transposed},
            "that is (num_filters, k, 4)",
            "transposed",
        ),
    ]
