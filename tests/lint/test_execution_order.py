from __future__ import annotations

from lint_nbfactory import cell, findings, notebook


def test_clean_sequential_run_has_no_findings() -> None:
    nb = notebook(cell("a = 1", count=1), cell("b = a", count=2), cell("print(b)", count=3))
    assert findings(nb, prefix="execution-order") == []


def test_out_of_order_duplicate_gap_unexecuted_and_stray_outputs() -> None:
    out = [{"output_type": "stream", "name": "stdout", "text": "1\n"}]
    nb = notebook(
        cell("a = 1", count=3),
        cell("b = a", count=1),
        cell("c = b", count=None),
        cell("d = c", count=3),
        cell("e = d", count=9),
        cell("print(e)", count=None, outputs=out),
    )
    got = {(f.rule, f.cell_index) for f in findings(nb, prefix="execution-order")}
    assert ("execution-order/out-of-order", 1) in got
    assert ("execution-order/duplicate-count", 3) in got
    assert ("execution-order/unexecuted", 2) in got
    assert ("execution-order/gap", 4) in got  # [3] → [9]
    assert ("execution-order/gap", 1) not in got
    assert ("execution-order/output-without-count", 5) in got


def test_first_count_above_one_is_a_gap_and_unexecuted_tail_is_fine() -> None:
    nb = notebook(cell("a = 1", count=4), cell("b = a", count=5), cell("c = b"))
    got = [(f.rule, f.cell_index) for f in findings(nb, prefix="execution-order")]
    assert got == [("execution-order/gap", 0)]


def test_never_executed_notebook_is_one_notebook_level_finding() -> None:
    (f,) = findings(notebook("a = 1", "b = a", "c = b"), prefix="execution-order")
    assert f.rule == "execution-order/never-executed" and f.cell_index is None and f.severity.value == "info"
