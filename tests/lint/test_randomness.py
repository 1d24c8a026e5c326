from __future__ import annotations

from lint_nbfactory import findings, notebook, rules


def test_unseeded_numpy_and_random_draws() -> None:
    nb = notebook("import numpy as np\nimport random", "x = np.random.rand(3)\ny = random.choice([1, 2])")
    got = findings(nb, prefix="randomness")
    assert [(f.rule, f.cell_index, f.line) for f in got] == [("randomness/unseeded", 1, 1), ("randomness/unseeded", 1, 2)]


def test_seeded_draws_are_clean() -> None:
    nb = notebook("import numpy as np\nfrom random import shuffle, seed\nnp.random.seed(0)\nseed(1)", "np.random.normal(size=3)\nshuffle([1, 2])")
    assert rules(nb, prefix="randomness") == []


def test_seed_after_first_draw() -> None:
    nb = notebook("import numpy as np\nx = np.random.rand()", "np.random.seed(42)\ny = np.random.rand()")
    assert sorted(rules(nb, prefix="randomness")) == ["randomness/seed-after-draw", "randomness/unseeded"]


def test_generators_need_a_seed() -> None:
    nb = notebook("import numpy as np\nrng = np.random.default_rng()\nok = np.random.default_rng(7)\nrs = np.random.RandomState()")
    assert rules(nb, prefix="randomness") == ["randomness/unseeded-generator", "randomness/unseeded-generator"]


def test_sklearn_estimators_and_splitters() -> None:
    nb = notebook(
        "from sklearn.ensemble import RandomForestClassifier\nfrom sklearn.model_selection import train_test_split, KFold\n"
        "from sklearn.linear_model import LogisticRegression\nimport sklearn.cluster as cl",
        "m = RandomForestClassifier(n_estimators=10)\nsplit = train_test_split([1, 2], [0, 1])\nkf = KFold(5)\nlr = LogisticRegression()\n"
        "km = cl.KMeans(3)\nkfs = KFold(5, shuffle=True)\nok = RandomForestClassifier(random_state=0)\nok2 = train_test_split([1], shuffle=False)",
    )
    got = [(f.rule, f.line) for f in findings(nb, prefix="randomness")]
    assert got == [
        ("randomness/estimator-random-state", 1),
        ("randomness/estimator-random-state", 2),
        ("randomness/estimator-random-state", 5),
        ("randomness/estimator-random-state", 6),
    ]


def test_sklearn_with_effective_global_seed_is_clean() -> None:
    nb = notebook("import numpy as np\nfrom sklearn.ensemble import RandomForestClassifier\nnp.random.seed(3)", "m = RandomForestClassifier()")
    assert rules(nb, prefix="randomness") == []


def test_torch_and_keras_seeders() -> None:
    nb = notebook("import torch\nx = torch.rand(3)\nlayer = torch.nn.Linear(2, 2)")
    assert rules(nb, prefix="randomness") == ["randomness/unseeded"]
    nb = notebook("import torch\ntorch.manual_seed(0)\nx = torch.randn(3)")
    assert rules(nb, prefix="randomness") == []
    nb = notebook("import keras\nimport numpy as np\nkeras.utils.set_random_seed(1)\nnp.random.rand()")
    assert rules(nb, prefix="randomness") == []


def test_local_generator_methods_are_not_global_draws() -> None:
    nb = notebook("import numpy as np\nrng = np.random.default_rng(1)\nrng.integers(3)\nrandom = rng\nrandom.random()")
    assert rules(nb, prefix="randomness") == []


def test_random_seed_without_argument_is_not_a_seed() -> None:
    nb = notebook("import random\nrandom.seed()\nrandom.random()")
    assert rules(nb, prefix="randomness") == ["randomness/unseeded"]
