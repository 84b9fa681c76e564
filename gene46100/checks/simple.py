"""The short form of a hidden check: a function of plain arrays against the reference.

Most first questions of a week grade one notebook function of numpy arrays
(``mse_loss``, ``conv1d_valid``, a ``relu``): fresh inputs, the reference's answer
at a tolerance, and the known wrong variants named when one reproduces the
student's answer. ``FunctionQuestion`` does all of that; a question states only
what differs:

    class Q2MSELoss(FunctionQuestion):
        name = "q2"
        function = "mse_loss"
        checks = {"matches the reference on fresh data": 2.0}
        returns = "float"
        advice = "the loss is mean((y_hat - y)**2)"

        def cases(self, rng):
            y = rng.normal(size=50)
            return [Case("loss0", (y + rng.normal(size=50), y))]

        def expected(self, y_hat, y):
            return ref.mse_loss(y_hat, y)

        def describe(self, y_hat, y):
            return f"mse_loss on hidden arrays of shape {y.shape}"

        def variants(self, y_hat, y):
            return [("half the right value ...", lambda: 0.5 * ref.mse_loss(y_hat, y))]

Each ``Case`` is one call on hidden arrays; its ``check`` names the check that
grades it (default: the first of ``checks`` that is not ``shape_check``). A case
with ``raises`` must raise one of those exceptions instead (a singular matrix,
mismatched shapes). ``shape_check`` names a check that grades only the shapes of
every returning case (partial credit for the right length and wrong values).
Questions that train models, read files or build objects keep the full form
(``Question``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    expect_raises,
    guarded,
    outcome_value,
)
from gene46100.checks.helpers import (
    Candidate,
    expect_float,
    expect_float_array,
    first_match,
    matches,
    times,
    wrong,
)
from gene46100.contract.results import QuestionRun


@dataclass(frozen=True)
class Case:
    """One call of the graded function on hidden inputs.

    ``args``: numpy arrays (sent as hidden arrays) or plain JSON values (strings,
    numbers), in the function's order. ``check``: the name of the check that grades
    it ("": the question's first). ``raises``: exception class names the call must
    raise instead of returning; ``returned``: what to tell a student whose call
    returned; ``what``: how feedback names the call ("": ``describe(*args)``).
    """

    id: str
    args: tuple[Any, ...]
    check: str = ""
    raises: tuple[str, ...] = ()
    returned: str = ""
    what: str = ""


@dataclass
class Cases:
    """A short-form question's plan facts: its cases, by id (trusted-only)."""

    by_id: dict[str, Case] = field(default_factory=dict)


class FunctionQuestion(Question):
    """A question on one function of plain arrays (see the module docstring)."""

    function: ClassVar[str]  # the notebook name graded (and the reference's)
    checks: ClassVar[dict[str, float]]  # check name -> weight, in feedback order
    returns: ClassVar[Literal["array", "float"]] = "array"
    rtol: ClassVar[float] = 1e-9
    atol: ClassVar[float] = 1e-12
    # Tolerance at which a known wrong variant counts as reproduced.
    variant_rtol: ClassVar[float] = 1e-6
    variant_atol: ClassVar[float] = 1e-9
    advice: ClassVar[str] = ""  # said when the answer is wrong and no variant matches
    shape_check: ClassVar[str] = ""  # a check (in ``checks``) on shapes alone

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "function" in vars(cls) and "names" not in vars(cls):
            cls.names = (cls.function,)

    # ---------------------------------------------------------- what a question states
    def cases(self, rng: np.random.Generator) -> Sequence[Case]:
        """Fresh hidden inputs, drawn from ``rng`` only."""
        raise NotImplementedError

    def expected(self, *args: Any) -> Any:
        """The right answer for ``args`` (the reference, or an oracle)."""
        raise NotImplementedError

    def describe(self, *args: Any) -> str:
        """How feedback names a call, without quoting hidden values."""
        return f"{self.function} on hidden inputs"

    def variants(self, *args: Any) -> list[Candidate]:
        """Known wrong variants: (hint, what the mistake would return)."""
        return []

    def shape_hint(self, got: np.ndarray, *args: Any) -> str:
        """Appended to the wrong-shape message (": a 2-D array; ...")."""
        return ""

    # ---------------------------------------------------------- the generic part
    def plan(self, rng: np.random.Generator) -> Plan[Cases]:
        plan: Plan[Cases] = Plan(facts=Cases())
        for case in self.cases(rng):
            plan.facts.by_id[case.id] = case
            args = [
                plan.array(f"{case.id}_{i}", a) if isinstance(a, np.ndarray) else a
                for i, a in enumerate(case.args)
            ]
            plan.call(case.id, self.function, *args)
        return plan

    def score(self, run: QuestionRun, plan: Plan[Cases]) -> list[Check]:
        cases = list(plan.facts.by_id.values())
        default = next(n for n in self.checks if n != self.shape_check)

        def graded_by(name: str) -> list[Case]:
            if name == self.shape_check:
                return [c for c in cases if not c.raises]
            return [c for c in cases if (c.check or default) == name]

        return [
            guarded(
                name,
                lambda name=name: self.check_cases(
                    run, graded_by(name), shapes_only=name == self.shape_check
                ),
                weight=weight,
            )
            for name, weight in self.checks.items()
        ]

    def check_cases(
        self, run: QuestionRun, cases: Sequence[Case], shapes_only: bool = False
    ) -> None:
        """Raise ``Mismatch`` at the first case answered wrongly."""
        for case in cases:
            what = case.what or self.describe(*case.args)
            if case.raises:
                expect_raises(run, case.id, what, case.raises, case.returned)
                continue
            value = outcome_value(run, case.id, what)
            if shapes_only:
                self.answer(value, what, case.args, self.expected(*case.args))
            else:
                self.check_value(value, what, case.args)

    def answer(
        self, value: Any, what: str, args: tuple[Any, ...], expected: Any
    ) -> Any:
        """The student's numbers, of the right type and shape, else ``Mismatch``."""
        if self.returns == "float":
            return expect_float(value, what)
        got = expect_float_array(value, what)
        if got.shape != np.shape(expected):
            raise Mismatch(
                f"{what} should have shape {np.shape(expected)}; got "
                f"{got.shape}{self.shape_hint(got, *args)}"
            )
        return got

    def check_value(self, value: Any, what: str, args: tuple[Any, ...]) -> None:
        """Type, shape, then values; a wrong answer names its known mistake."""
        expected = self.expected(*args)
        got = self.answer(value, what, args, expected)
        if matches(got, expected, rtol=self.rtol, atol=self.atol):
            return
        hint = first_match(
            got, self.variants(*args), rtol=self.variant_rtol, atol=self.variant_atol
        )
        if self.returns == "float":
            raise Mismatch(
                f"{what} is wrong ({times(got, expected)})"
                + (f": {hint}" if hint else f"; {self.advice}" if self.advice else "")
            )
        raise wrong(what, got, expected, hint, self.advice)
