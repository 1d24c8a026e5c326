"""Regenerate the lint fixture corpus (tests/lint/corpus/): `python tests/lint/make_corpus.py`.

Each notebook records the findings it must produce in ``metadata.nb2prod_test.expect``
(rule ids) and the ones it must not in ``forbid`` (rule-id prefixes).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent / "corpus"


def c(source: str, count: int | None = None, outputs: list | None = None, tags: list | None = None, kind: str = "code") -> dict:
    cell = {"cell_type": kind, "id": "", "metadata": {"tags": tags} if tags else {}, "source": source.splitlines(keepends=True)}
    if kind == "code":
        cell.update(execution_count=count, outputs=outputs or [])
    return cell


def out(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text.splitlines(keepends=True)}


def result(text: str, count: int) -> dict:
    return {"output_type": "execute_result", "execution_count": count, "metadata": {}, "data": {"text/plain": [text]}}


def md(text: str) -> dict:
    return c(text, kind="markdown")


NOTEBOOKS = {
    "churn_clean": (
        [
            md("# Churn model\nTrains a small model on the bundled sample."),
            c("seed = 7\ndata_dir = 'data'", 1, tags=["parameters"]),
            c("import numpy as np\nimport pandas as pd\nfrom sklearn.linear_model import LogisticRegression\nnp.random.seed(seed)", 2),
            c("frame = pd.read_csv(f'{data_dir}/customers.csv')\nframe.shape", 3, [result("(6, 3)", 3)]),
            c(
                "model = LogisticRegression().fit(frame[['tenure', 'spend']], frame['churned'])\n"
                "print(round(model.score(frame[['tenure', 'spend']], frame['churned']), 3))",
                4,
                [out("0.833\n")],
            ),
        ],
        {"expect": ["data/unrecorded"], "forbid": ["hidden-state", "execution-order", "randomness", "portability", "environment", "secrets", "data/missing"]},
    ),
    "sales_hidden_state": (
        [
            c("import pandas as pd", 1),
            c("monthly = sales.groupby('month').sum()\nmonthly", 9, [result("...", 9)]),
            c("sales = pd.DataFrame({'month': [1, 1, 2], 'amount': [3, 4, 5]})", 4),
            c("report = summarise(monthly)", 10),
            c("print(threshold)", None),
            c("top = monthly.head()", 11),
        ],
        {
            "expect": [
                "hidden-state/use-before-define",
                "hidden-state/undefined-name",
                "execution-order/out-of-order",
                "execution-order/gap",
                "execution-order/unexecuted",
            ],
            "forbid": ["secrets", "randomness"],
        },
    ),
    "experiment_random": (
        [
            c("import random\nimport numpy as np\nfrom sklearn.model_selection import train_test_split\nfrom sklearn.ensemble import RandomForestClassifier"),
            c("X = np.random.rand(100, 3)\ny = (X[:, 0] > 0.5).astype(int)\nrandom.shuffle(list(range(5)))"),
            c("np.random.seed(0)\nX_train, X_test, y_train, y_test = train_test_split(X, y)"),
            c("rng = np.random.default_rng()\nclf = RandomForestClassifier(n_estimators=20)"),
        ],
        {
            "expect": ["randomness/unseeded", "randomness/seed-after-draw", "randomness/unseeded-generator"],
            "forbid": ["hidden-state", "randomness/estimator-random-state"],
        },
    ),
    "portable_paths": (
        [
            c("import pandas as pd\nfrom pathlib import Path"),
            c("raw = pd.read_excel(r'C:\\Users\\maria\\Documents\\q3.xlsx')\nlocal = pd.read_csv('/Users/maria/projects/churn/data/customers.csv')"),
            c("cache = Path('~/cache/features.parquet').expanduser()\nremote = pd.read_csv('https://raw.githubusercontent.com/acme/datasets/main/prices.csv')"),
            c("%cd /home/maria/projects/churn"),
        ],
        {"expect": ["portability/absolute-path", "portability/home-path", "portability/mutable-url"], "forbid": ["hidden-state"]},
    ),
    "env_mess": (
        [
            c("%pip install seaborn lightgbm==4.3.0", 1, [out("Requirement already satisfied: seaborn\n")]),
            c("!pip install plotly", 2),
            c(
                "import pandas as pd\nimport seaborn as sns\nprint(pd.__version__)",
                3,
                [out("1.5.3\n"), out("/opt/conda/lib/python3.8/site-packages/seaborn/x.py:1: FutureWarning\n", "stderr")],
            ),
            c("print(pd.__version__)", 4, [out("2.3.3\n"), out("/usr/lib/python3.11/site-packages/pandas/y.py:2: UserWarning\n", "stderr")]),
        ],
        {"expect": ["environment/unpinned-install", "environment/shell-pip", "environment/mixed-environment"], "forbid": ["hidden-state"]},
    ),
    "leaked_secret": (
        [
            c("import os\nimport requests\napi_key = os.environ['WEATHER_KEY']", 1),
            c("print(f'using key {api_key}')", 2, [out("using key AKIAZ7QK4TRV2MNB5XHD\n")]),
            c("HF_TOKEN = 'hf_" + "Qm7fK2pLx9Zt4Rb8Yc1Vn6Hs3Jd5Wg0Ae2'\n", 3),
        ],
        {"expect": ["secrets/in-output", "secrets/in-source"], "forbid": ["hidden-state"]},
    ),
    "magics_heavy": (
        [
            c("%load_ext autoreload\n%autoreload 2\n%matplotlib inline\nimport numpy as np", 1),
            c("%%capture setup_log\nprint('setting up')", 2),
            c("setup_log.show()\nfiles = !ls\nn_files = len(files)\n!echo {n_files}", 3),
            c("%store -r shared_config\nshared_config", 4),
            c("%time squares = np.arange(10) ** 2\ndisplay(squares)\nget_ipython().run_line_magic('who', '')", 5),
            c("%%timeit\nnp.sum(squares)", 6),
            c("%%bash\necho done", 7),
            c("np?", 8),
        ],
        {"expect": [], "forbid": ["hidden-state", "syntax"]},
    ),
    # issue 18: valid IPython from real public notebooks; must raise no error
    "ipython_real": (
        [
            c("import os\nimport numpy as np\nimport pandas as pd\ndatapath = os.path.join('data', '')", 1),
            c("frame = pd.read_csv(datapath + 'customers.csv')\n?frame.plot.bar()\nframe.describe??", 2),
            c("print('churn rate: %.2f'\n      % frame['churned'].mean())", 3, [out("churn rate: 0.50\n")]),
            c("!awk -F, '{print $1}' data/customers.csv | head -3\n!find data -name '*.csv' -exec wc -l {} \\;\n!echo $HOME {datapath}", 4),
            c("%%bash\nexport CONF='{\"a\": 1}'\nfor f in data/*.csv; do echo ${f%.csv} ${MODEL_DIR}; done", 5),
            c("np.save('features', frame[['tenure', 'spend']].to_numpy())\nframe.to_csv('scored.csv')", 6),
            c("with open('features.npy', 'rb') as handle:\n    raw = handle.read()\nscored = pd.read_csv('scored.csv')", 7),
            c("%timeit -r1 -n1 [[row[i] for row in frame.values] for i in range(2)]", 8),
            c("    \n    import sys\n    if sys.version_info < (3, 0):\n        text = unicode('x')", 9),
        ],
        {"expect": [], "forbid": ["syntax", "hidden-state", "data/missing"]},
    ),
    # issue 18: defects only saved outputs show
    "output_defects": (
        [
            c("import os\nimport pandas as pd\nprint(os.getcwd())", 1, [out("/Users/maria/projects/churn\n")]),
            c(
                "iris = pd.read_csv('https://archive.example.org/ml/iris.data')",
                2,
                [{"output_type": "error", "ename": "URLError", "evalue": "no network", "traceback": ["URLError: no network"]}],
            ),
            c("print(os.getcwd())", 3, [out("/home/bob/churn\n")]),
        ],
        {
            "expect": [
                "portability/home-path-in-output",
                "execution-order/error-output",
                "environment/mixed-environment",
                "portability/unversioned-url",
            ],
            "forbid": ["hidden-state", "syntax"],
        },
    ),
}


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for name, (cells, expect) in NOTEBOOKS.items():
        for index, cell in enumerate(cells):
            cell["id"] = f"{name[:6]}-{index}"
        nb = {
            "nbformat": 4,
            "nbformat_minor": 5,
            "cells": cells,
            "metadata": {
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "language_info": {"name": "python"},
                "nb2prod_test": expect,
            },
        }
        (HERE / f"{name}.ipynb").write_text(json.dumps(nb, indent=1) + "\n")
    (HERE / "corrupt.ipynb").write_text('{"cells": [ {"cell_type": "code", "source": "x = 1"\n')
    (HERE / "requirements.txt").write_text("numpy==2.4.6\npandas==2.3.3\nscikit-learn==1.9.1\nrequests==2.32.3\n")
    (HERE / "data").mkdir(exist_ok=True)
    (HERE / "data" / "customers.csv").write_text("tenure,spend,churned\n1,10,1\n24,80,0\n3,15,1\n36,90,0\n12,40,0\n2,12,1\n")


if __name__ == "__main__":
    main()
