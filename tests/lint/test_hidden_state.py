from __future__ import annotations

from lint_nbfactory import findings, notebook, rules


def test_use_before_define_points_at_cell_and_line() -> None:
    nb = notebook("import math", "print(total)\nx = 1", "total = math.pi")
    (f,) = findings(nb, prefix="hidden-state")
    assert f.rule == "hidden-state/use-before-define"
    assert (f.cell_index, f.cell_id, f.line) == (1, "cell1", 1)
    assert "cell 2" in f.message and f.fix


def test_self_referencing_assignment_is_use_before_define() -> None:
    assert rules(notebook("counter = counter + 1")) == ["hidden-state/use-before-define"]


def test_undefined_everywhere_is_error_with_gap_evidence() -> None:
    nb = notebook(
        {"cell_type": "code", "source": "a = 1", "execution_count": 1, "outputs": [], "metadata": {}},
        {"cell_type": "code", "source": "print(model)", "execution_count": 5, "outputs": [], "metadata": {}},
    )
    (f,) = findings(nb, prefix="hidden-state")
    assert f.rule == "hidden-state/undefined-name" and f.severity.value == "error"
    assert "jump" in (f.evidence or "")


def test_function_bodies_are_deferred_and_scopes_respected() -> None:
    nb = notebook(
        "def predict(x):\n    return model.predict(x) + offset",
        "model = object()\noffset = 1\nsquares = [i * i for i in range(3)]\nlambda y: y + offset",
        "class K:\n    a = 1\n    b = a + 1\n    def m(self):\n        return self.b",
        "total = sum(v for v in squares)\nif (n := len(squares)) > 1:\n    print(n)",
        "try:\n    pass\nexcept ValueError as err:\n    print(err)\nwith open('f') as fh:\n    pass\nfor k, v in {}.items():\n    print(k, v)",
    )
    assert rules(nb, prefix="hidden-state") == []


def test_method_reading_class_attribute_without_self_is_undefined() -> None:
    nb = notebook("class K:\n    q = 1\n    def m(self):\n        return q")
    (f,) = findings(nb, prefix="hidden-state")
    assert f.rule == "hidden-state/undefined-name" and f.line == 4


def test_magic_defined_names_are_not_errors() -> None:
    nb = notebook(
        "%%capture captured\nprint('x')",
        "captured.show()\nfiles = !ls\nprint(files)",
        "%store -r stored_frame\nstored_frame.head()",
        "%time elapsed = len(files)\nprint(elapsed)",
        "display(get_ipython())\nprint(In, Out, _, _i, _1, __name__)",
        "%matplotlib inline\n%load_ext autoreload\n!echo {elapsed}\nlen?",
        "listing = %sx ls\nprint(listing)",
    )
    assert rules(nb, prefix="hidden-state") == []


def test_shell_interpolation_expands_only_existing_python_names() -> None:
    # IPython's var_expand leaves `{missing_var}`/`$HOME` to the shell when no such Python name exists
    assert rules(notebook("!echo {missing_var} $HOME"), prefix="hidden-state") == []
    # a Python name defined only below: a fresh run passes the text unexpanded
    nb = notebook("!echo {out_dir}", "out_dir = 'results'")
    assert rules(nb, prefix="hidden-state") == ["hidden-state/expansion-order"]
    assert rules(notebook("out_dir = 'results'", "!mkdir -p {out_dir}"), prefix="hidden-state") == []


def test_run_script_names_are_resolved(tmp_path) -> None:
    (tmp_path / "helpers.py").write_text("import os\ndef load():\n    return 1\nCONSTANT = 2\n")
    nb = notebook("%run helpers.py", "load() + CONSTANT")
    assert rules(nb, path=tmp_path / "nb.ipynb", prefix="hidden-state") == []
    nb = notebook("%run helpers.py", "unknown_thing()")
    assert rules(nb, path=tmp_path / "nb.ipynb", prefix="hidden-state") == ["hidden-state/undefined-name"]


def test_star_imports_and_unresolvable_run_downgrade_to_warning(tmp_path) -> None:
    nb = notebook("from numpy import *", "array([1])")
    (f,) = findings(nb, prefix="hidden-state")
    assert f.severity.value == "warning" and "from numpy import *" in f.message
    nb = notebook("%run missing_script.py", "something()")
    (f,) = findings(nb, path=tmp_path / "nb.ipynb", prefix="hidden-state")
    assert f.severity.value == "warning"
    nb = notebook("%pylab inline", "plot(arange(3))")
    assert {f.severity.value for f in findings(nb, prefix="hidden-state")} == {"warning"}


def test_deleted_definition_from_kernel_history() -> None:
    nb = notebook("import pandas as pd", "frame.describe()")
    history = ["", "import pandas as pd", "frame = pd.DataFrame({'a': [1]})", "frame.describe()", "%nb2prod lint"]
    (f,) = findings(nb, history=history, prefix="hidden-state")
    assert f.rule == "hidden-state/deleted-definition" and "In[2]" in f.message


def test_dunder_file_is_flagged() -> None:
    assert rules(notebook("import os\nhere = os.path.dirname(__file__)")) == ["hidden-state/dunder-file"]


def test_global_declared_in_function_counts_as_definition() -> None:
    nb = notebook("def setup():\n    global config\n    config = 1", "setup()", "def use():\n    return config")
    assert rules(nb, prefix="hidden-state") == []


def test_syntax_error_cell_reported_and_rest_linted() -> None:
    nb = notebook("def broken(:\n    pass", "print(y)")
    assert rules(nb) == ["syntax/invalid-python", "hidden-state/undefined-name"]


def test_non_python_kernel_runs_language_neutral_rules_only() -> None:
    nb = notebook("x <- undefined_r_thing", language="R")
    assert rules(nb) == ["syntax/not-python"]
