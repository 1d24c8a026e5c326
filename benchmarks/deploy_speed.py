"""Benchmark: ``%deploy … --serve`` to a ready local service, vs plain BentoML doing the minimum.

nb2prod: the example notebook's model (20k rows, custom transformer) deployed with the magic in
an in-process IPython shell — capture, fresh-process proof, gate, version record, templates,
``bentoml build``, serve, ``/readyz``. Baseline (same run, same model): what a user does by hand
without nb2prod — ``bentoml.models`` save with cloudpickle, a hand-written service, ``bentoml
build``, ``bentoml serve`` until ``/readyz`` answers. Target: nb2prod ≤ 20 s on 2 cores.

    .venv/bin/python benchmarks/deploy_speed.py [--samples 20000] [--no-bytecode]

``--no-bytecode`` points every child process at an empty ``PYTHONPYCACHEPREFIX`` (and stops it
writing one), as if the packages were installed without ``.pyc`` files (uv's default).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class _Stamped(io.TextIOBase):
    """stdout that remembers when each ``%deploy:`` progress line arrived."""

    def __init__(self, start: float) -> None:
        self.start, self.lines = start, []  # type: ignore[var-annotated]

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                self.lines.append((round(time.perf_counter() - self.start, 2), line.strip()))
        return len(text)


def _fit(shell: object, samples: int) -> None:
    import nbformat

    nb = nbformat.read(REPO / "example_notebooks" / "credit_default.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "out = Path(output_dir)" not in cell.source:
            result = shell.run_cell(cell.source.replace("n_samples = 20_000", f"n_samples = {samples}"), store_history=True)  # type: ignore[attr-defined]
            assert result.success, result


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("baseline service exited")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=0.5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("baseline service not ready")


def baseline(shell: object, home: Path, port: int) -> float:
    """Plain BentoML: save the model (cloudpickle), hand-written service, build, serve, /readyz."""
    env = {**os.environ, "BENTOML_HOME": str(home / "bentoml-baseline"), "BENTOML_DO_NOT_TRACK": "True"}
    ctx = home / "baseline"
    ctx.mkdir()
    (ctx / "service.py").write_text(textwrap.dedent('''
        import bentoml, cloudpickle, pandas as pd
        @bentoml.service(name="plain")
        class Plain:
            ref = bentoml.models.BentoModel("plain:latest")
            def __init__(self):
                with open(self.ref.path_of("model.pkl"), "rb") as f:
                    self.model = cloudpickle.load(f)
            @bentoml.api
            def predict(self, rows: list[dict]) -> list[float]:
                return self.model.predict_proba(pd.DataFrame(rows))[:, 1].tolist()
    '''))
    (ctx / "bentofile.yaml").write_text(
        'service: "service:Plain"\ninclude: ["service.py"]\n'
        "python:\n  packages: [scikit-learn, pandas, cloudpickle]\n  lock_packages: false\n"
    )
    started = time.perf_counter()
    shell.run_cell(  # type: ignore[attr-defined]
        f"import cloudpickle as _cp\nopen({str(ctx / 'model.pkl')!r}, 'wb').write(_cp.dumps(model))"
    )
    save = (
        "import bentoml, shutil\n"
        f"with bentoml.models.create('plain') as m: shutil.copy({str(ctx / 'model.pkl')!r}, m.path_of('model.pkl'))\n"
        f"print(bentoml.bentos.build_bentofile({str(ctx / 'bentofile.yaml')!r}, build_ctx={str(ctx)!r}).tag)\n"
    )
    tag = subprocess.run([sys.executable, "-c", save], env=env, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    with open(ctx / "serve.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "bentoml", "serve", tag, "--host", "127.0.0.1", "--port", str(port)],
                                   env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_ready(f"http://127.0.0.1:{port}", process)
        return time.perf_counter() - started
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--no-bytecode", action="store_true", help="child processes compile every module from source")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="nb2prod-bench-deploy-"))
    if args.no_bytecode:
        (home / "no-pycache").mkdir()
        os.environ.update({"PYTHONPYCACHEPREFIX": str(home / "no-pycache"), "PYTHONDONTWRITEBYTECODE": "1"})
    import sklearn

    bytecode = not args.no_bytecode and any((Path(sklearn.__file__).parent / "__pycache__").glob("*.pyc"))
    os.environ.update({"NB2PROD_HOME": str(home), "BENTOML_HOME": str(home / "bentoml"), "BENTOML_DO_NOT_TRACK": "True"})
    from IPython.core.interactiveshell import InteractiveShell

    from nb2prod.api import Workspace
    from nb2prod.package.serving import free_port

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "nb2prod")
    _fit(shell, args.samples)
    load_before = os.getloadavg()[0]
    base_s = baseline(shell, home, free_port("127.0.0.1", 3900))

    started = time.perf_counter()
    stamped = _Stamped(started)
    with contextlib.redirect_stdout(stamped):
        result = shell.run_line_magic(
            "deploy", "model --name credit --data X_train --target y_train --holdout X_test y_test --protected gender --serve"
        )
    total = time.perf_counter() - started
    if result is None:
        raise SystemExit("deploy failed: " + "; ".join(line for _, line in stamped.lines))
    cpu = os.cpu_count()
    phases = stamped.lines
    Workspace.open(home).stop()
    figures = {
        "samples": args.samples,
        "cores": cpu,
        "installed_bytecode_used": bytecode,
        "load_avg_1m_before": round(load_before, 2),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
        "deploy_to_ready_s": round(total, 2),
        "plain_bentoml_to_ready_s": round(base_s, 2),
        "ratio_vs_plain_bentoml": round(total / base_s, 2),
        "proof_child_s": result.proof.get("seconds"),
        "phases": phases,
        "target_s": 20,
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
