"""Static lint speed: one 100-code-cell notebook (target <= 100 ms) and a folder of 300 notebooks.

Run: .venv/bin/python benchmarks/lint_speed.py
     .venv/bin/python benchmarks/lint_speed.py --corpus /tmp/public_nbs [--errors errors.txt]
The second form lints a folder of real notebooks (assembled outside the repo: never commit third-party
notebooks), prints findings per rule and ms/notebook, and writes every error-level finding with the
cell's lines around it to ``--errors`` so each one can be judged by reading it.
Prints the median of several warm runs; the baseline in the same run is a bare ``json.loads`` +
``ast.parse`` of every cell (the least any static linter must do), so figures are comparable on a
noisy machine as ratios.
"""

from __future__ import annotations

import ast
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from nb2prod.lint import lint_notebook, lint_paths, load_notebook

CELL_TEMPLATES = [
    "import numpy as np\nimport pandas as pd\nfrom sklearn.ensemble import RandomForestClassifier\nnp.random.seed({i})",
    "frame_{i} = pd.DataFrame({{'a': np.arange(10), 'b': np.random.rand(10)}})\nframe_{i}['c'] = frame_{i}.a * 2\nframe_{i}.describe()",
    "def feature_{i}(df, k={i}):\n    out = df.copy()\n    out['k'] = [v * k for v in out['a'] if v > 2] + [0] * 3\n    return out\n",
    "model_{i} = RandomForestClassifier(n_estimators=10, random_state={i})\nresult_{i} = feature_{f}(frame_{d})\nprint(result_{i}.shape)",
    "%time total_{i} = sum(x for x in range({i}))\nlabel_{i} = f'run {{total_{i}}}'\nprint(label_{i})",
]


def make_notebook(n_code: int = 100) -> dict:
    cells = []
    for i in range(n_code):
        template = CELL_TEMPLATES[0] if i == 0 else CELL_TEMPLATES[1 + (i - 1) % 4]
        source = template.format(i=i, f=i - 1, d=i - 2)
        out = [{"output_type": "stream", "name": "stdout", "text": f"(7, {i})\n"}]
        cells.append({"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": i + 1, "outputs": out, "source": source})
        if i % 10 == 0:
            cells.append({"cell_type": "markdown", "id": f"m{i}", "metadata": {}, "source": f"## Section {i}"})
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3", "language": "python"}}, "cells": cells}


def baseline(path: Path) -> None:
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            with contextlib.suppress(SyntaxError):
                ast.parse("".join(cell["source"]))


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def corpus(folder: Path, errors_out: Path | None) -> int:
    """Lint every notebook under ``folder``; per-rule counts, timing, and the error findings to judge."""
    import collections

    start = time.perf_counter()
    reports = lint_paths([folder])
    elapsed = time.perf_counter() - start
    counts = collections.Counter((f.severity.value, f.rule) for r in reports for f in r.findings)
    print(f"{len(reports)} notebooks under {folder}: {elapsed:.1f} s ({elapsed / max(len(reports), 1) * 1000:.1f} ms/notebook)")
    for (severity, rule), n in sorted(counts.items(), key=lambda kv: (["error", "warning", "info"].index(kv[0][0]), kv[0][1])):
        print(f"  {severity:7} {rule:40} {n}")
    lines: list[str] = []
    for report in reports:
        for f in report.findings:
            if f.severity.value != "error":
                continue
            snippet = ""
            if f.cell_index is not None:
                with contextlib.suppress(Exception):  # nbformat 3 and odd layouts: read as the linter reads them
                    text = load_notebook(report.path).cells[f.cell_index].source.split("\n")
                    at = (f.line or 1) - 1
                    snippet = " | ".join(text[max(0, at - 1) : at + 2])[:240]
            lines.append(f"{f.rule} {report.path}#cell{f.cell_index}:{f.line} {f.message}\n    >> {snippet}")
    if errors_out is not None:
        errors_out.write_text("\n".join(lines) + "\n")
        print(f"{len(lines)} error findings written to {errors_out}")
    return 0


def main() -> int:
    if "--corpus" in sys.argv:
        args = sys.argv[1:]
        folder = Path(args[args.index("--corpus") + 1])
        out = Path(args[args.index("--errors") + 1]) if "--errors" in args else None
        return corpus(folder, out)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "requirements.txt").write_text("numpy==2.4.6\npandas==2.3.3\nscikit-learn==1.9.1\n")
        big = folder / "big.ipynb"
        big.write_text(json.dumps(make_notebook(100), indent=1))
        report = lint_notebook(big)  # warm-up: imports, distribution lookups
        errors = [f for f in report.findings if f.severity.value == "error"]
        single = timed(lambda: lint_notebook(big), 15)
        base = timed(lambda: baseline(big), 15)
        many = folder / "many"
        many.mkdir()
        small = make_notebook(12)
        for k in range(300):
            (many / f"nb_{k:03d}.ipynb").write_text(json.dumps(small, indent=1))
        (many / "corrupt.ipynb").write_text("{not json")
        folder_s = timed(lambda: lint_paths([many]), 3)
        folder_base = timed(lambda: [baseline(p) for p in sorted(many.glob("nb_*.ipynb"))], 3)
        reports = lint_paths([many])
    print(
        f"100-code-cell notebook: static lint {single * 1000:.1f} ms (target <= 100 ms); "
        f"json+ast.parse baseline {base * 1000:.1f} ms; ratio {single / base:.1f}x; findings {len(report.findings)}, errors {len(errors)}"
    )
    print(
        f"folder of 300 notebooks (+1 corrupt): {folder_s:.2f} s ({folder_s / 301 * 1000:.1f} ms/notebook); "
        f"baseline {folder_base:.2f} s; ratio {folder_s / folder_base:.1f}x; reports {len(reports)}"
    )
    return 0 if single <= 0.1 else 1


if __name__ == "__main__":
    sys.exit(main())
