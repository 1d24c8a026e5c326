"""Randomness: library-aware unseeded draws, unseeded generators and seeds set too late.

Covers Python's ``random``, NumPy (legacy global functions and ``default_rng``/``RandomState``
without a seed), scikit-learn estimators/splitters/generators without ``random_state`` (fine
when NumPy's global RNG is seeded first: sklearn then draws from it deterministically), and
PyTorch / TensorFlow / Keras when the notebook imports them. Order is notebook order: what a
restart-and-run-all does.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar

from nb2prod.lint.notebook import CallSite, Cell, ParsedNotebook
from nb2prod.lint.registry import register
from nb2prod.lint.rule import Check, LintContext, Rule
from nb2prod.models import Finding, Severity

__all__ = ["FAMILY_LABEL", "RandomnessAnalysis", "RandomnessRule", "analyze_randomness"]

FAMILY_LABEL = {"random": "Python's random", "numpy": "NumPy's global RNG", "torch": "PyTorch's RNG", "tensorflow": "TensorFlow's RNG"}

_RANDOM_DRAWS = frozenset(
    [
        "random",
        "randint",
        "randrange",
        "choice",
        "choices",
        "shuffle",
        "sample",
        "uniform",
        "gauss",
        "normalvariate",
        "lognormvariate",
        "expovariate",
        "betavariate",
        "gammavariate",
        "triangular",
        "vonmisesvariate",
        "paretovariate",
        "weibullvariate",
        "getrandbits",
        "randbytes",
        "binomialvariate",
    ]
)
_NUMPY_NOT_DRAWS = frozenset(
    [
        "seed",
        "default_rng",
        "RandomState",
        "Generator",
        "SeedSequence",
        "PCG64",
        "PCG64DXSM",
        "MT19937",
        "Philox",
        "SFC64",
        "BitGenerator",
        "get_state",
        "set_state",
    ]
)
_TORCH_DRAWS = re.compile(
    r"^torch\.(rand|randn|randint|randperm|rand_like|randn_like|randint_like|normal|bernoulli|multinomial|poisson|nn\.init\.\w+"
    r"|nn\.(Linear|Bilinear|Conv\w*|ConvTranspose\w*|LSTM|GRU|RNN\w*|Embedding\w*|Transformer\w*|MultiheadAttention|Dropout\w*)"
    r"|utils\.data\.random_split)$"
)
_TF_DRAWS = re.compile(
    r"^(tensorflow\.(random\.(?!set_seed|Generator|create_rng_state)\w+|keras\.layers\.(Dense|Conv\w*|LSTM|GRU|SimpleRNN|Embedding|Dropout))"
    r"|keras\.layers\.(Dense|Conv\w*|LSTM|GRU|SimpleRNN|Embedding|Dropout))$"
)
_MULTI_SEEDERS = {
    "keras.utils.set_random_seed": ("random", "numpy", "tensorflow"),
    "tensorflow.keras.utils.set_random_seed": ("random", "numpy", "tensorflow"),
    "lightning.seed_everything": ("random", "numpy", "torch"),
    "lightning.pytorch.seed_everything": ("random", "numpy", "torch"),
    "pytorch_lightning.seed_everything": ("random", "numpy", "torch"),
    "transformers.set_seed": ("random", "numpy", "torch", "tensorflow"),
    "accelerate.utils.set_seed": ("random", "numpy", "torch"),
}
_SEEDERS = {
    "random.seed": "random",
    "numpy.random.seed": "numpy",
    "torch.manual_seed": "torch",
    "tensorflow.random.set_seed": "tensorflow",
    "tensorflow.set_random_seed": "tensorflow",
}

# scikit-learn callables whose result depends on ``random_state`` (name → condition).
_ALWAYS = "always"
_SKLEARN: dict[str, str | tuple[str, object]] = {
    **dict.fromkeys(
        [
            "RandomForestClassifier",
            "RandomForestRegressor",
            "ExtraTreesClassifier",
            "ExtraTreesRegressor",
            "RandomTreesEmbedding",
            "GradientBoostingClassifier",
            "GradientBoostingRegressor",
            "HistGradientBoostingClassifier",
            "HistGradientBoostingRegressor",
            "BaggingClassifier",
            "BaggingRegressor",
            "AdaBoostClassifier",
            "AdaBoostRegressor",
            "IsolationForest",
            "DecisionTreeClassifier",
            "DecisionTreeRegressor",
            "ExtraTreeClassifier",
            "ExtraTreeRegressor",
            "MLPClassifier",
            "MLPRegressor",
            "SGDClassifier",
            "SGDRegressor",
            "SGDOneClassSVM",
            "Perceptron",
            "PassiveAggressiveClassifier",
            "PassiveAggressiveRegressor",
            "KMeans",
            "MiniBatchKMeans",
            "BisectingKMeans",
            "SpectralClustering",
            "SpectralEmbedding",
            "GaussianMixture",
            "BayesianGaussianMixture",
            "TSNE",
            "MDS",
            "NMF",
            "MiniBatchNMF",
            "FastICA",
            "LatentDirichletAllocation",
            "SparseRandomProjection",
            "GaussianRandomProjection",
            "RBFSampler",
            "Nystroem",
            "SkewedChi2Sampler",
            "DictionaryLearning",
            "MiniBatchDictionaryLearning",
            "RANSACRegressor",
            "TheilSenRegressor",
            "RandomizedSearchCV",
            "HalvingRandomSearchCV",
            "ShuffleSplit",
            "StratifiedShuffleSplit",
            "GroupShuffleSplit",
            "RepeatedKFold",
            "RepeatedStratifiedKFold",
            "TruncatedSVD",
            "make_classification",
            "make_regression",
            "make_blobs",
            "make_moons",
            "make_circles",
            "make_s_curve",
            "make_swiss_roll",
            "make_friedman1",
            "make_friedman2",
            "make_friedman3",
            "make_gaussian_quantiles",
            "make_hastie_10_2",
            "make_low_rank_matrix",
            "make_sparse_coded_signal",
            "make_spd_matrix",
            "make_multilabel_classification",
            "make_biclusters",
            "make_checkerboard",
            "permutation_importance",
            "permutation_test_score",
            "resample",
        ],
        _ALWAYS,
    ),
    "train_test_split": ("shuffle", True),
    "shuffle": _ALWAYS,  # sklearn.utils.shuffle
    "KFold": ("shuffle", False),
    "StratifiedKFold": ("shuffle", False),
    "GroupKFold": ("shuffle", False),
    "LogisticRegression": ("solver", ("sag", "saga", "liblinear")),
    "SVC": ("probability", False),
    "NuSVC": ("probability", False),
    "PCA": ("svd_solver", ("randomized", "arpack")),
}


@dataclass(frozen=True, slots=True)
class Draw:
    family: str
    cell: Cell
    call: CallSite
    label: str


@dataclass(slots=True)
class RandomnessAnalysis:
    """Draws, seeds and sklearn calls in notebook order; the seed cell fix reads it too."""

    unseeded: list[Draw] = field(default_factory=list)  # first unseeded draw per family per cell
    late_seeds: list[tuple[Draw, Cell, CallSite]] = field(default_factory=list)  # (first draw, seed cell, seed call)
    generators: list[tuple[Cell, CallSite, str]] = field(default_factory=list)
    sklearn: list[tuple[Cell, CallSite, str]] = field(default_factory=list)
    families_used: set[str] = field(default_factory=set)
    seeded: set[str] = field(default_factory=set)
    # (cell, call, family, seed cell index, cells drawing in between): relies on a global seed set elsewhere
    order_dependent: list[tuple[Cell, CallSite, str, int, list[int]]] = field(default_factory=list)


def _const(node: ast.AST | None) -> object:
    if isinstance(node, ast.Constant):
        return node.value
    return ...


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _sklearn_random(call: ast.Call, short: str) -> bool:
    """True when this sklearn call draws randomly without a fixed ``random_state``."""
    condition = _SKLEARN[short]
    state = _keyword(call, "random_state")
    if state is not None and _const(state) is not None:
        return False
    if any(k.arg is None for k in call.keywords):  # **kwargs may carry random_state
        return False
    if condition == _ALWAYS:
        return True
    assert isinstance(condition, tuple)
    param, default = condition
    value = _const(_keyword(call, param))
    if value is ...:
        value = default if _keyword(call, param) is None else ...
    if isinstance(default, tuple):
        return value in default
    return value is True or (value is ... and _keyword(call, param) is not None)


def _family_of_draw(target: str) -> tuple[str, str] | None:
    if target.startswith("random.") and target.count(".") == 1 and target[7:] in _RANDOM_DRAWS:
        return "random", target
    if target.startswith("numpy.random.") and target.count(".") == 2 and target[13:] not in _NUMPY_NOT_DRAWS:
        return "numpy", target
    if target.startswith("torch.") and _TORCH_DRAWS.match(target):
        return "torch", target
    if _TF_DRAWS.match(target):
        return "tensorflow", target
    if target in {"torch.utils.data.DataLoader"}:
        return "torch", target
    return None


def analyze_randomness(nb: ParsedNotebook) -> RandomnessAnalysis:
    result = RandomnessAnalysis()
    first_draw: dict[str, Draw] = {}
    seed_cell: dict[str, int] = {}
    drawn_since_seed: dict[str, list[int]] = {}
    order_reported: set[tuple[int, str]] = set()

    def seeded_use(cell: Cell, site: CallSite, family: str) -> None:
        """A draw from a seeded global RNG: order-dependent when other cells drew from it since the seed."""
        if family not in seed_cell:
            return
        between = [index for index in drawn_since_seed[family] if index not in (cell.index, seed_cell[family])]
        if cell.index != seed_cell[family] and between and (cell.index, family) not in order_reported:
            order_reported.add((cell.index, family))
            result.order_dependent.append((cell, site, family, seed_cell[family], sorted(set(between))))
        if not drawn_since_seed[family] or drawn_since_seed[family][-1] != cell.index:
            drawn_since_seed[family].append(cell.index)

    for cell in nb.code_cells:
        if cell.tree is None:
            continue
        reported_here: set[str] = set()
        for site in sorted(cell.calls, key=lambda s: (s.line, s.col)):
            if site.dotted.split(".", 1)[0] not in nb.aliases:
                continue  # not a module the notebook imported (a local `rng`, or a variable named `random`)
            target = nb.resolve(site.dotted)
            call = site.node
            families: tuple[str, ...] = ()
            if target in _SEEDERS and call.args and _const(call.args[0]) is not None:
                families = (_SEEDERS[target],)
            elif target in _MULTI_SEEDERS:
                families = _MULTI_SEEDERS[target]
            if families:
                for family in families:
                    if family in first_draw and family not in result.seeded:
                        result.late_seeds.append((first_draw[family], cell, site))
                    result.seeded.add(family)
                    seed_cell[family] = cell.index
                    drawn_since_seed[family] = []
                continue
            if target in {"numpy.random.default_rng", "numpy.random.RandomState", "random.Random"}:
                seed = call.args[0] if call.args else _keyword(call, "seed")
                if seed is None or _const(seed) is None:
                    result.generators.append((cell, site, target))
                continue
            if target == "torch.utils.data.DataLoader" and _const(_keyword(call, "shuffle")) is not True:
                continue
            if target.startswith("sklearn."):
                short = target.rsplit(".", 1)[-1]
                if short in _SKLEARN and _sklearn_random(call, short):
                    result.families_used.add("numpy")
                    if "numpy" not in result.seeded:
                        result.sklearn.append((cell, site, short))
                    else:
                        seeded_use(cell, site, "numpy")
                continue
            found = _family_of_draw(target)
            if found is None:
                continue
            family, label = found
            result.families_used.add(family)
            draw = Draw(family, cell, site, label)
            first_draw.setdefault(family, draw)
            seeded_use(cell, site, family)
            if family not in result.seeded and family not in reported_here:
                reported_here.add(family)
                result.unseeded.append(draw)
    return result


@register
class RandomnessRule(Rule):
    id = "randomness"
    title = "Randomness"
    checks: ClassVar[dict[str, Check]] = {
        "unseeded": Check(Severity.WARNING, "A random draw from a global RNG with no seed set before it: results change on every run."),
        "unseeded-generator": Check(Severity.WARNING, "A random generator is created without a seed."),
        "estimator-random-state": Check(Severity.WARNING, "A scikit-learn estimator/splitter without random_state while NumPy's global RNG is unseeded."),
        "seed-after-draw": Check(Severity.WARNING, "A seed is set after the first draw from the same RNG; earlier draws are not reproducible."),
        "order-dependent-seed": Check(
            Severity.WARNING,
            "A draw relies on a global seed set in another cell with other draws in between: rerun or reorder a cell and it changes.",
        ),
    }

    def check_notebook(self, ctx: LintContext) -> Iterable[Finding]:
        analysis = analyze_randomness(ctx.nb)
        for draw in analysis.unseeded:
            yield self.finding(
                ctx,
                "unseeded",
                f"`{draw.call.dotted}(…)` draws from {FAMILY_LABEL[draw.family]} and no seed is set before it",
                cell=draw.cell,
                line=draw.call.line,
                fix=f"seed {FAMILY_LABEL[draw.family]} once at the top (`nb2prod lint --fix seed` inserts a seed cell)",
            )
        for cell, site, target in analysis.generators:
            yield self.finding(
                ctx,
                "unseeded-generator",
                f"`{site.dotted}()` creates a generator without a seed",
                cell=cell,
                line=site.line,
                fix=f"pass a seed: `{site.dotted}(42)` (or a seed defined in the parameters cell)",
                evidence=target,
            )
        for cell, site, short in analysis.sklearn:
            yield self.finding(
                ctx,
                "estimator-random-state",
                f"`{short}(…)` has no random_state and NumPy's global RNG is not seeded before it",
                cell=cell,
                line=site.line,
                fix="pass random_state=<seed> (e.g. random_state=42)",
            )
        for cell, site, family, seed_index, between in analysis.order_dependent:
            shown = ", ".join(str(i) for i in between[:5]) + ("…" if len(between) > 5 else "")
            yield self.finding(
                ctx,
                "order-dependent-seed",
                f"`{site.dotted}(…)` relies on the seed of {FAMILY_LABEL[family]} set in cell {seed_index}, but "
                + (f"cells {shown} draw" if len(between) > 1 else f"cell {shown} draws")
                + " from it in between: rerunning this cell alone, or reordering cells, changes its result",
                cell=cell,
                line=site.line,
                fix="pass random_state=<seed> (or use a local generator, `np.random.default_rng(seed)`) instead of relying on the global seed",
            )
        for draw, cell, site in analysis.late_seeds:
            yield self.finding(
                ctx,
                "seed-after-draw",
                f"`{site.dotted}(…)` seeds {FAMILY_LABEL[draw.family]} after its first draw "
                f"(`{draw.call.dotted}` in cell {draw.cell.index}, line {draw.call.line})",
                cell=cell,
                line=site.line,
                fix="move the seed above the first draw (into the first code cell)",
            )
