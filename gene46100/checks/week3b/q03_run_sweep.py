"""week3b q3: ``run_sweep(n_runs, seed, data=..., make_logger=..., epochs=...)`` runs
a random search over the course's sweep and returns its best run.

Four sweeps through a grader-owned recording ``make_logger`` (one logger per run,
``common.logger_factory_arg``): a 40-run sweep on fresh hidden windows, and three
3-run sweeps on tiny ones (two with the same seed, one with another). The checks
read back each run's config and logs: the result's form, the runs' configurations
(the six hyper-parameters from their lists, epochs, a seed), that every value of
every list is drawn, the argmax (config and score), the seeding, and that the winner,
retrained by the reference, gives its score and beats the course's default
configuration by ``BEAT_MARGIN``. Its reference trains the real 40-run sweep
(``slow_reference``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gene46100.checks import (
    Check,
    Mismatch,
    Plan,
    Question,
    guarded,
    outcome_value,
)
from gene46100.checks.helpers import (
    keep_precision,
    matches,
)
from gene46100.checks.known import KnownWrong
from gene46100.checks.week3b.common import (
    CONFIG_KEYS,
    COURSE_VALUES,
    LOGGER_ADAPTERS,
    VALUE_TYPES,
    Data,
    History,
    course_value,
    hidden_data,
    is_number,
    logger_factory_arg,
    plain,
    reference_run,
    register_data,
)
from gene46100.contract.results import QuestionRun
from gene46100_ref import week3b as ref

N_RUNS = 40


Q3_EPOCHS = 4


# The winner must beat the course's default configuration by this much (absolute
# Pearson r). Over grading seeds 0-3 and 46100 the reference's winner scores 0.70-0.73
# and the default 0.17-0.19 (a gap of 0.51 or more), and 24 % of random runs clear
# default + margin (SGD without the sigmoid, a few Adam runs with 4 filters), so a
# correct 40-run sweep misses the bar with probability about 0.76**40 = 2e-5.
# tests/test_checks_week3b.py re-measures the gap.
BEAT_MARGIN = 0.05


# Retraining best_config must give best_score: exactly on the grader's CPU; the
# slack allows a run made on a GPU (TF32 convolutions) and still catches a score
# that was made up.
SCORE_ATOL = 0.02


# The checks, in feedback order.
RESULT = "returns (best_config, best_score)"
RUNS = "runs n_runs configurations drawn from the sweep's lists"
COVERAGE = "draws every value of every list (uniformly)"
ARGMAX = "best_config is the configuration of the best run"
BEST_SCORE = "best_score is the best run's test_avg_pearsonr"
SEEDING = "the same seed repeats the sweep; another seed changes it"
BEATS_DEFAULT = "the winner beats the course's default configuration"


@dataclass
class Facts:
    """What scoring reads (trusted-only): the main sweep's hidden data, and the
    number of runs and epochs of each probed sweep."""

    main: Data  # {split: (x (N, L, 4), y (N, L))}, float32
    sweeps: dict[str, tuple[int, int]] = field(default_factory=dict)


class Q3RunSweep(Question):
    """q3: ``run_sweep``: its runs, its argmax, its seeding, and a winner that beats
    the default configuration on hidden data."""

    name = "q3"
    names = ("run_sweep",)
    adapters = LOGGER_ADAPTERS
    provides = ("sweep_config", "_train_epoch", "_eval_loss", "train_sweep")
    slow_reference = True  # the real 40-run sweep

    def plan(self, rng: np.random.Generator) -> Plan[Facts]:
        main = hidden_data(rng, (int(rng.integers(380, 420)), 100, 150))
        tiny = hidden_data(rng, (40, 12, 16), seq_len=60)
        seeds = [int(s) for s in rng.integers(0, 2**31, size=3)]
        plan = Plan(facts=Facts(main=main))
        main_arg, tiny_arg = (
            register_data(plan, "main", main),
            register_data(plan, "tiny", tiny),
        )
        sweeps = {
            "main": (N_RUNS, seeds[0], main_arg, Q3_EPOCHS),
            "again": (3, seeds[1], tiny_arg, 1),
            "again2": (3, seeds[1], tiny_arg, 1),
            "other": (3, seeds[2], tiny_arg, 1),
        }
        for sweep, (n_runs, seed, argument, epochs) in sweeps.items():
            plan.facts.sweeps[sweep] = (n_runs, epochs)
            factory = logger_factory_arg(sweep)
            plan.call(
                sweep,
                "run_sweep",
                n_runs,
                seed,
                data=argument,
                make_logger=factory,
                epochs=epochs,
            )
            plan.call_method(f"{sweep}_count", factory, "count")
            for i in range(n_runs):
                plan.call_method(f"{sweep}_run{i}", factory, "run_records", i)
        return plan

    def score(self, run: QuestionRun, plan: Plan[Facts]) -> list[Check]:
        sweeps = {
            name: Sweep(run, name, n, epochs)
            for name, (n, epochs) in plan.facts.sweeps.items()
        }
        main = sweeps["main"]
        return [
            guarded(RESULT, lambda: main.result()),
            guarded(RUNS, lambda: q3_runs(main)),
            guarded(COVERAGE, lambda: q3_coverage(sweeps)),
            guarded(ARGMAX, lambda: q3_argmax(main)),
            guarded(BEST_SCORE, lambda: q3_best_score(main)),
            guarded(SEEDING, lambda: q3_seeding(sweeps)),
            guarded(
                BEATS_DEFAULT,
                lambda: q3_beats_default(main, plan.facts.main),
                weight=2.0,
            ),
        ]


class Sweep:
    """One probed ``run_sweep`` call: its result and the runs its loggers recorded."""

    def __init__(self, run: QuestionRun, name: str, n_runs: int, epochs: int) -> None:
        self.run, self.name, self.n_runs, self.epochs = run, name, n_runs, epochs
        self.what = f"run_sweep({n_runs}, seed, ...)"

    def result(self) -> tuple[dict, float]:
        value = outcome_value(self.run, self.name, self.what)
        if value.kind != "tuple" or len(value.data) != 2:
            hint = (
                ": write `return best_config, best_score`"
                if value.kind == "list"
                else ""
            )
            raise Mismatch(
                f"{self.what} should return a tuple (best_config, "
                f"best_score); got {value.type}{hint}"
            )
        config, score = (plain(v) for v in value.data)
        if not isinstance(config, dict):
            raise Mismatch(f"best_config should be a dict; got {value.data[0].type}")
        if not is_number(score):
            raise Mismatch(f"best_score should be a float; got {value.data[1].type}")
        # a float32 score stays float32: q3_best_score grades it at float32 precision
        return config, keep_precision(value.data[1], float(score))

    def runs(self) -> list[dict]:
        """``[{"config": ..., "logs": [...]}, ...]`` in the order of the runs."""
        outcome_value(self.run, self.name, self.what)
        count = plain(outcome_value(self.run, f"{self.name}_count", "the run count"))
        runs = []
        for i in range(min(int(count), self.n_runs)):
            record = plain(
                outcome_value(self.run, f"{self.name}_run{i}", "a run record")
            )
            logs = [
                c.get("metrics") for c in record["calls"] if c.get("method") == "log"
            ]
            runs.append({"config": record["config"], "logs": logs})
        if count != self.n_runs:
            raise Mismatch(
                f"{self.what} should call make_logger(config) once per run, "
                f"{self.n_runs} times; it called it {count} time(s)"
                + (
                    ": call it inside the loop and pass the logger to train_sweep"
                    if count < 2
                    else ""
                )
            )
        return runs

    def scores(self) -> np.ndarray:
        """Each run's logged test_avg_pearsonr (NaN when missing)."""
        out = []
        for run in self.runs():
            found = [
                m["test_avg_pearsonr"]
                for m in run["logs"]
                if isinstance(m, dict) and is_number(m.get("test_avg_pearsonr"))
            ]
            out.append(float(found[-1]) if found else math.nan)
        return np.array(out)


def check_config(config: Any, epochs: int, what: str) -> None:
    """A run's config: the six hyper-parameters from their lists, epochs, a seed."""
    if not isinstance(config, dict):
        raise Mismatch(f"{what}: make_logger should receive the run's config dict")
    missing = [k for k in CONFIG_KEYS if k not in config]
    if missing:
        raise Mismatch(
            f"{what} lacks {missing}: a run's config holds the six "
            "hyper-parameters, 'epochs' and 'seed'"
        )
    for name, values in COURSE_VALUES.items():
        value = course_value(config[name], values)  # float32 0.1 is the course's 0.1
        if isinstance(value, tuple) and value[0] == "other":
            raise Mismatch(
                f"{what}: {name} is a {value[1]}: index the list "
                "(values[rng.integers(len(values))]) to keep plain values"
            )
        if type(value) is not VALUE_TYPES[name] or value not in values:
            raise Mismatch(
                f"{what}: {name} = {value!r} ({type(value).__name__}) is not "
                f"one of the sweep's values {values}"
                + (
                    ": rng.choice returns numpy values; index the list instead"
                    if type(value) is not VALUE_TYPES[name]
                    else ""
                )
            )
    if config["epochs"] != epochs:
        raise Mismatch(
            f"{what}: epochs = {config['epochs']!r}; every run's config "
            f"carries epochs={epochs}, the argument"
        )
    if type(config["seed"]) is not int:
        raise Mismatch(
            f"{what}: seed should be a Python int; got {type(config['seed']).__name__}"
        )


def q3_runs(sweep: Sweep) -> None:
    runs = sweep.runs()
    for i, run in enumerate(runs):
        check_config(run["config"], sweep.epochs, f"the config of run {i + 1}")
    hyper = [tuple(run["config"][k] for k in COURSE_VALUES) for run in runs]
    if len(set(hyper)) == 1:
        raise Mismatch(
            f"all {len(runs)} runs used the same hyper-parameters: draw a new "
            "configuration inside the loop, for every run"
        )


def q3_coverage(sweeps: dict[str, Sweep]) -> None:
    seen: dict[str, set] = {name: set() for name in COURSE_VALUES}
    for sweep in sweeps.values():
        for run in sweep.runs():
            for name in COURSE_VALUES:
                if isinstance(run["config"], dict) and name in run["config"]:
                    seen[name].add(repr(run["config"][name]))
    n = sum(s.n_runs for s in sweeps.values())
    for name, values in COURSE_VALUES.items():
        never = [v for v in values if repr(v) not in seen[name]]
        if never:
            raise Mismatch(
                f"in {n} runs {name} never took the value(s) {never}: draw "
                "each value uniformly from its whole list (an off-by-one "
                "in rng.integers(len(values))?)"
            )


def q3_argmax(sweep: Sweep) -> None:
    config, _ = sweep.result()
    scores, runs = sweep.scores(), sweep.runs()
    if np.all(np.isnan(scores)):
        raise Mismatch(
            f"no run of {sweep.what} logged test_avg_pearsonr: pass the "
            "logger from make_logger(config) to train_sweep"
        )
    best = int(np.nanargmax(scores))  # the first of equal maxima
    if config == runs[best]["config"]:
        return
    configs = [run["config"] for run in runs]
    hint = ""
    if config == configs[-1]:
        hint = "it is the last run's config: keep the best one as you go"
    elif config == configs[int(np.nanargmin(scores))]:
        hint = "it is the run with the lowest score: the goal is to maximize"
    elif config == configs[0]:
        hint = "it is the first run's config: update the best when a run scores higher"
    elif config in configs:
        hint = "it is another run's config: compare each run's test_avg_pearsonr"
    else:
        hint = (
            "it is not the config of any run (return the dict you passed to "
            "train_sweep)"
        )
    raise Mismatch(
        f"best_config should be the config of run {best + 1}, the one with "
        f"the highest test_avg_pearsonr: {hint}"
    )


def q3_best_score(sweep: Sweep) -> None:
    _, score = sweep.result()
    scores = sweep.scores()
    best = float(np.nanmax(scores))
    if matches(score, best, 0.0, 1e-12 * max(1.0, abs(best))):
        return
    hint = (
        "it is the last run's score"
        if matches(score, scores[-1], 0.0, 1e-12)
        else "it is the lowest score: maximize"
        if matches(score, np.nanmin(scores), 0.0, 1e-12)
        else "return the test_avg_pearsonr that train_sweep returned for that run"
    )
    raise Mismatch(
        f"best_score should be the highest test_avg_pearsonr of the runs: {hint}"
    )


def q3_seeding(sweeps: dict[str, Sweep]) -> None:
    first, again, other = sweeps["again"], sweeps["again2"], sweeps["other"]
    configs = {
        name: [run["config"] for run in s.runs()]
        for name, s in (("a", first), ("b", again), ("c", other))
    }
    if configs["a"] != configs["b"] or first.result() != again.result():
        raise Mismatch(
            "two sweeps with the same seed drew different configurations: "
            "make rng = np.random.default_rng(seed) once and draw everything "
            "from it (not np.random.*, random.* or torch's global RNG)"
        )
    if configs["a"] == configs["c"]:
        raise Mismatch(
            "sweeps with different seeds drew the same configurations: the "
            "seed argument is ignored"
        )


def q3_beats_default(sweep: Sweep, data: Data) -> None:
    config, score = sweep.result()
    check_config(config, sweep.epochs, "best_config")
    replayed, _ = reference_run(config, data)
    if not (math.isfinite(replayed) and abs(replayed - score) <= SCORE_ATOL):
        raise Mismatch(
            "retraining best_config on the hidden data does not give "
            "best_score: return the config exactly as the run was trained "
            "(seed included) with that run's score"
        )
    default, _ = reference_run({**ref.DEFAULT_CONFIG, "epochs": sweep.epochs}, data)
    if replayed >= default + BEAT_MARGIN:
        return
    raise Mismatch(
        f"the winner's test_avg_pearsonr ({replayed:.3f}) does not beat the "
        f"course's default configuration ({default:.3f}) by {BEAT_MARGIN}: "
        f"with {sweep.n_runs} runs a random search should find a better one; "
        "are the configurations drawn uniformly from every list?"
    )


# ------------------------------------------------------------------ known wrong
# q3's mistakes are sweeps of short runs; the runs themselves are right, so they are
# trained once and replayed (``cached_train_sweep``).
CACHED_RUNS: dict[tuple, tuple[float, list[dict]]] = {}


def cached_train_sweep(config, logger, data=None, device=None):
    """``ref.train_sweep`` with its logged rows memoised by (config, data).

    q3 reads only what was logged, so replaying the rows is indistinguishable from
    retraining; it keeps the many q3 variants fast.
    """
    digest = tuple(
        hash(np.ascontiguousarray(a).tobytes())
        for split in data.values()
        for a in split
    )
    key = (json.dumps(config, sort_keys=True, default=str), digest)
    if key not in CACHED_RUNS:
        history = History()
        score = ref.train_sweep(config, history, data=data, device="cpu")
        CACHED_RUNS[key] = (score, history.rows)
    score, rows = CACHED_RUNS[key]
    for row in rows:
        logger.log(row)
    logger.finish()
    return score


def draw(values: list, rng: np.random.Generator) -> Any:
    return values[int(rng.integers(len(values)))]


def make_run_sweep(
    pick: str = "best",
    draw_values: Callable[[list, np.random.Generator], Any] = draw,
    rng_seed: int | None = None,
    one_config: bool = False,
    use_logger: bool = True,
    fixed_epochs: int | None = None,
    as_list: bool = False,
) -> Callable[..., Any]:
    """A ``run_sweep`` with one mistake (the defaults make a correct one). For
    ``known_wrong`` and tests/test_checks_week3b.py."""

    def run_sweep(n_runs, seed, data=None, make_logger=None, epochs=5):
        rng = np.random.default_rng(seed if rng_seed is None else rng_seed)
        space = ref.sweep_config()["parameters"]
        runs = []
        config = None
        for _ in range(n_runs):
            if config is None or not one_config:
                config = {k: draw_values(v["values"], rng) for k, v in space.items()}
                config.update(
                    epochs=fixed_epochs or epochs, seed=int(rng.integers(2**31))
                )
            logger = make_logger(config) if use_logger else History()
            runs.append((cached_train_sweep(config, logger, data=data), dict(config)))
        scores = np.array([s for s, _ in runs])
        index = {
            "best": lambda: int(np.nanargmax(scores)),
            "last": lambda: len(runs) - 1,
            "worst": lambda: int(np.nanargmin(scores)),
        }[pick]()
        result = (runs[index][1], runs[index][0])
        return list(result) if as_list else result

    return run_sweep


def known_wrong() -> list[KnownWrong]:
    """Typical wrong ``run_sweep`` answers and what their feedback says. None needs
    a 40-run sweep to show its mistake: they run 8 (``N_RUNS``)."""

    def global_draw(values, rng):
        return values[np.random.randint(len(values))]  # global state, not the seed

    def off_by_one_draw(values, rng):
        return values[int(rng.integers(len(values) - 1))]

    def numpy_draw(values, rng):
        return rng.choice(values)

    def wrong(mistake: dict[str, Any], phrase: str, key: str, check: str) -> KnownWrong:
        return KnownWrong(
            {"run_sweep": make_run_sweep(**mistake)},
            phrase,
            key,
            check=check,
            settings={"N_RUNS": 8},
            slow=True,
        )

    return [
        wrong({"pick": "last"}, "last run's config", "last-run-s-config", ARGMAX),
        wrong({"pick": "last"}, "last run's score", "last-run-s-score", BEST_SCORE),
        wrong({"pick": "worst"}, "lowest score", "lowest-score", ARGMAX),
        wrong(
            {"rng_seed": 0},
            "seed argument is ignored",
            "seed-argument-is-ignored",
            SEEDING,
        ),
        wrong(
            {"draw_values": global_draw},
            "default_rng(seed) once",
            "default-rng-seed-once",
            SEEDING,
        ),
        wrong(
            {"one_config": True},
            "same hyper-parameters",
            "same-hyper-parameters",
            RUNS,
        ),
        wrong({"draw_values": off_by_one_draw}, "off-by-one", "off-by-one", COVERAGE),
        wrong(
            {"draw_values": off_by_one_draw},
            "does not beat",
            "does-not-beat",
            BEATS_DEFAULT,
        ),
        wrong(
            {"draw_values": numpy_draw},
            "batch_size should be a positive integer",
            "batch-size-should-be-a-positive-integer",
            RUNS,
        ),
        wrong(
            {"use_logger": False},
            "it called it 0 time(s)",
            "it-called-it-0-time-s",
            RUNS,
        ),
        wrong({"fixed_epochs": 5}, "epochs=4", "epochs-4", RUNS),
        wrong({"as_list": True}, "tuple", "tuple", RESULT),
    ]
