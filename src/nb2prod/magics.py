"""IPython magics: ``%nb2prod …`` (the CLI inside the notebook, plus notebook-aware extras).

Loaded with ``%load_ext nb2prod``. Thin: parse, call the core, present.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from typing import Never

from IPython.core.magic import Magics, line_magic, magics_class

__all__ = ["Nb2prodMagics", "load_ipython_extension"]


@magics_class
class Nb2prodMagics(Magics):
    """``%nb2prod SUBCOMMAND [ARGS]`` runs the same commands as the ``nb2prod`` CLI."""

    @line_magic("nb2prod")  # type: ignore[arg-type]
    def nb2prod(self, line: str) -> None:
        """Run an ``nb2prod`` command in the notebook, e.g. ``%nb2prod runs`` or ``%nb2prod info``."""
        from nb2prod.cli import main

        try:
            argv = shlex.split(line)
        except ValueError as exc:
            print(f"error: cannot parse {line!r}: {exc}")
            return
        if argv[:1] == ["lint"]:
            self._lint(argv[1:])
            return
        if argv[:1] == ["monitor"] and not {"--json", "--watch", "--rules", "--webhook", "-h", "--help"} & set(argv):
            self._monitor(argv[1:])
            return
        code = main(argv or ["--help"])
        if code:
            print(f"(exit code {code})")

    # -- lint ---------------------------------------------------------------------
    def _lint(self, argv: list[str]) -> None:
        """``%nb2prod lint [NOTEBOOK] [--run] [--timeout S] [--json]``: lint the notebook this kernel runs.

        Without NOTEBOOK, the notebook is found from ``JPY_SESSION_NAME`` (set by jupyter_server)
        or VS Code's ``__vsc_ipynb_file__``; the kernel's input history is passed as extra
        evidence (names defined only by cells that no longer exist). Lints the file as last saved.
        """
        import argparse

        from IPython.display import display

        from nb2prod.api import Workspace
        from nb2prod.errors import Nb2prodError
        from nb2prod.lint.render import render_html, render_json, render_text

        parser = argparse.ArgumentParser(prog="%nb2prod lint", add_help=False, exit_on_error=False)
        parser.add_argument("notebook", nargs="?")
        parser.add_argument("--run", action="store_true")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--timeout", type=float, default=600.0)
        try:
            args, unknown = parser.parse_known_args(argv)
        except argparse.ArgumentError as exc:
            print(f"error: {exc} (usage: %nb2prod lint [NOTEBOOK] [--run] [--timeout S] [--json])")
            return
        if unknown:
            print(f"error: unknown option {unknown[0]} (usage: %nb2prod lint [NOTEBOOK] [--run] [--timeout S] [--json])")
            return
        path = _current_notebook(args.notebook, self.shell.user_ns if self.shell is not None else {})
        if path is None:
            print("error: cannot tell which notebook this kernel runs — pass its path: %nb2prod lint my_notebook.ipynb")
            return
        history = list(self.shell.history_manager.input_hist_raw) if self.shell is not None and self.shell.history_manager else None
        try:
            report = Workspace.open().lint_notebook(path, run=args.run, history=history, timeout_s=args.timeout)
        except Nb2prodError as exc:
            print(f"error: {exc}")
            return
        if args.json:
            print(render_json([report]))
            return
        display({"text/html": render_html([report]), "text/plain": render_text([report])}, raw=True)


    # -- monitor ------------------------------------------------------------------
    def _monitor(self, argv: list[str]) -> None:
        """``%nb2prod monitor NAME [--window 1h] [--every 10] [--static]``: the live monitor widget."""
        import argparse

        from IPython.display import display

        from nb2prod.api import Workspace
        from nb2prod.widgets.monitor import MonitorWidget

        usage = "usage: %nb2prod monitor NAME [--window 1h] [--every SECONDS] [--static]"
        parser = _QuietParser(prog="%nb2prod monitor", add_help=False, exit_on_error=False)
        parser.add_argument("name")
        parser.add_argument("--window", default="1h")
        parser.add_argument("--every", type=float, default=10.0)
        parser.add_argument("--static", action="store_true")
        try:
            args, unknown = parser.parse_known_args(argv)
        except argparse.ArgumentError as exc:
            print(f"error: {exc} ({usage})")
            return
        if unknown or args.every < 1:
            print(f"error: {'unknown option ' + unknown[0] if unknown else '--every must be at least 1'} ({usage})")
            return
        display(MonitorWidget(Workspace.open(), args.name, window=args.window, every=args.every, live=not args.static))

    # -- deploy -----------------------------------------------------------------------------
    @line_magic("deploy")  # type: ignore[arg-type]
    def deploy(self, line: str) -> object:
        """Deploy a fitted model as a versioned BentoML service, proved in a fresh process.

        ``%deploy model --name credit --data X_train --target y_train [--holdout X_test y_test]
        [--protected gender] [--fallback baseline|constant:VALUE|previous|none]
        [--min-metric roc_auc=0.7] [--tolerance 0.01] [--allow-schema-change] [--threshold P]
        [--serve [--port N]] [--shadow [PERCENT]] [--favorable VALUE] [--notebook PATH] [--data-file PATH]
        [--wheel PATH] [--sample-size N] [--image IMAGE] [--quiet]``

        The options are the same as ``nb2prod deploy``'s (one table declares both). ``--wheel``: a
        wheel the Bento installs instead of the package index (repeatable), for packages installed
        from a local folder (the deploy warns about those).
        """
        import sys

        from nb2prod.api import Workspace
        from nb2prod.errors import Nb2prodError, UsageError
        from nb2prod.package.deploy.request import DeployRequest

        usage = "usage: %deploy MODEL --name NAME --data X_train [--target y_train] [--holdout X_test y_test] [--serve] [--shadow [PERCENT]] (see %deploy?)"
        try:
            args, unknown = _deploy_parser().parse_known_args(shlex.split(line))
        except (argparse.ArgumentError, ValueError) as exc:
            print(f"error: {exc} ({usage})", file=sys.stderr)
            return None
        if unknown:
            print(f"error: unknown option {unknown[0]} ({usage})", file=sys.stderr)
            return None
        options = {k: v for k, v in vars(args).items() if v is not None and k not in {"quiet", "test_data", "test_target"}}
        if args.test_data or args.test_target:
            if not (args.test_data and args.test_target):
                print("error: --test-data and --test-target go together (or use --holdout X_test y_test)", file=sys.stderr)
                return None
            options.setdefault("holdout_vars", (args.test_data, args.test_target))
        ns = self.shell.user_ns if self.shell is not None else {}
        history = list(self.shell.history_manager.input_hist_raw) if self.shell is not None and self.shell.history_manager else []
        say = (lambda _m: None) if args.quiet else (lambda m: print(f"%deploy: {m} …", flush=True))
        try:
            import getpass

            options["notebook"] = _current_notebook(options.get("notebook"), ns)
            if _is_model_uri(options["model_var"]):  # a model logged to MLflow, not a notebook variable
                options["source"] = options.pop("model_var")
                request = DeployRequest.from_options({"actor": getpass.getuser(), **options})
                return _deploy_logged(Workspace.open(), request, ns, say)
            request = DeployRequest.from_options({"actor": getpass.getuser(), **options})
            if not request.data_var:
                raise UsageError("--data names the training data variable", fix="e.g. %deploy model --name NAME --data X_train")
            _check_variables(request, ns, history)
            return Workspace.open().deploy_from_namespace(request, ns, history=history, progress=say)
        except Nb2prodError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return None


def _is_model_uri(ref: str) -> bool:
    from nb2prod.api import Workspace

    return Workspace.is_model_uri(ref)


def _deploy_logged(workspace: object, request: object, ns: dict[str, object], say: Callable[[str], None]) -> object:
    """``%deploy models:/NAME/VERSION …``: the data variables, when named, come from the notebook."""
    from nb2prod.api import Workspace
    from nb2prod.errors import UsageError
    from nb2prod.package.deploy.request import DeployRequest

    assert isinstance(workspace, Workspace) and isinstance(request, DeployRequest)
    absent = [v for v in request.variables.values() if v not in ns]
    if absent:
        raise UsageError(f"the notebook defines no variable named {absent[0]!r}", fix="run the cell that defines it first")
    holdout = request.holdout_vars
    return workspace.deploy_logged(
        request, data=ns[request.data_var] if request.data_var else None, target=ns[request.target_var] if request.target_var else None,
        holdout=(ns[holdout[0]], ns[holdout[1]]) if holdout else None, progress=say,
    )


def _deploy_parser() -> argparse.ArgumentParser:
    """``%deploy``'s parser, generated from the deploy options table the CLI uses too."""
    from nb2prod.package.deploy.request import DEPLOY_OPTIONS, parse_json_value

    types = {"str": str, "int": int, "float": float, "json": parse_json_value}
    parser = _QuietParser(prog="%deploy", add_help=False, exit_on_error=False)
    parser.add_argument("model_var", metavar="MODEL")
    for option in DEPLOY_OPTIONS:
        if "magic" not in option.fronts:
            continue
        kwargs: dict[str, object] = {"dest": option.field, "default": None}
        if option.kind == "flag":
            kwargs.update(action="store_const", const=True)
        elif option.kind == "many":
            kwargs.update(action="append", type=types[option.type])
        elif option.kind == "pair":
            kwargs.update(nargs=2, type=types[option.type])
        elif option.kind == "optional":
            kwargs.update(nargs="?", const=option.const, type=types[option.type])
        else:
            kwargs.update(type=types[option.type])
        parser.add_argument(*option.flags, required=option.field == "name", **kwargs)  # type: ignore[arg-type]
    parser.add_argument("--test-data")  # older spelling of --holdout's first half
    parser.add_argument("--test-target")
    parser.add_argument("--quiet", action="store_true")
    return parser


def _check_variables(request: object, ns: dict[str, object], history: list[str]) -> None:
    """The data must fit the model; name the ``In [n]`` that last rebound either when it does not."""
    from nb2prod.package.deploy.request import DeployRequest
    from nb2prod.package.deploy.variables import binding_cells, check_variables

    assert isinstance(request, DeployRequest)
    if not all(v in ns for v in request.variables.values()):
        return  # the deploy names the missing one
    where = {name: f"In [{n - 1}]" for name, n in binding_cells(history, request.variables.values()).items()}
    holdout = request.holdout_vars
    check_variables(ns[request.model_var or "model"], ns[request.data_var or ""], model_var=request.model_var or "model",
                    data_var=request.data_var or "", where=where, holdout=ns[holdout[0]] if holdout else None,
                    holdout_var=holdout[0] if holdout else None, in_kernel=True)


class _QuietParser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting (missing arguments included)."""

    def error(self, message: str) -> Never:
        import argparse

        raise argparse.ArgumentError(None, message)


def _current_notebook(explicit: str | None, user_ns: dict[str, object]) -> str | None:
    """The notebook file this kernel runs: explicit path, JPY_SESSION_NAME, or VS Code's variable."""
    import os
    from pathlib import Path

    if explicit:
        return explicit
    vscode = user_ns.get("__vsc_ipynb_file__")
    if isinstance(vscode, str) and Path(vscode).is_file():
        return vscode
    session = os.environ.get("JPY_SESSION_NAME")
    if not session:
        return None
    candidate = Path(session)
    if candidate.is_absolute():
        return str(candidate) if candidate.is_file() else None
    cwd = Path.cwd()
    # The session path is relative to the server root, an ancestor of the kernel's working folder.
    for base in (cwd, *cwd.parents):
        if (base / candidate).is_file():
            return str(base / candidate)
    return str(cwd / candidate.name) if (cwd / candidate.name).is_file() else None


def load_ipython_extension(ipython: object) -> None:
    ipython.register_magics(Nb2prodMagics)  # type: ignore[attr-defined]
    if getattr(ipython, "kernel", None) is not None:  # a notebook front end can show widgets; a terminal keeps the text
        from nb2prod.models import DeployResult

        ipython.display_formatter.mimebundle_formatter.for_type(DeployResult, _deploy_card)  # type: ignore[attr-defined]


def _deploy_card(result: object) -> dict[str, object]:
    """How a ``DeployResult`` displays in a notebook: the deployment card (Monitor / Stop service)."""
    from nb2prod.widgets import deployment_card

    return deployment_card(result)._repr_mimebundle_()
