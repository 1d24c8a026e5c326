"""The ``nb2prod`` command. Thin: parse, call :class:`nb2prod.api.Workspace`, present.

Every :class:`~nb2prod.errors.Nb2prodError` becomes one ``error:`` line on stderr and the
error's exit code; click usage mistakes become one line and exit code 2.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

import click

from nb2prod.cli.app import cli
from nb2prod.errors import Nb2prodError

__all__ = ["cli", "main"]

# Command modules register themselves on ``cli`` when imported.
from nb2prod.cli import deploy as _deploy  # noqa: F401
from nb2prod.cli import k8s as _k8s  # noqa: F401
from nb2prod.cli import lint as _lint  # noqa: F401
from nb2prod.cli import monitor as _monitor  # noqa: F401
from nb2prod.cli import profiles as _profiles  # noqa: F401
from nb2prod.cli import retrain as _retrain  # noqa: F401
from nb2prod.cli import rollout as _rollout  # noqa: F401
from nb2prod.cli import runs as _runs  # noqa: F401
from nb2prod.cli import store as _store  # noqa: F401


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (never a traceback for a known failure).

    With ``--json`` on the command line every failure also prints a JSON error object on stdout
    (``{"ok": false, "error", "message", "fix"}``), so a script reading stdout gets an answer either way.
    """
    args = list(argv) if argv is not None else sys.argv[1:]
    as_json = "--json" in args
    try:
        returned = cli.main(args=args, prog_name="nb2prod", standalone_mode=False)
        if isinstance(returned, int) and not isinstance(returned, bool):  # ctx.exit(n) in non-standalone mode returns n
            return returned
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else "", err=False)
        return 0
    except click.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        return _fail(as_json, "usage", exc.format_message(), hint.strip(" ()") or None, 2)
    except click.Abort:
        return _fail(as_json, "aborted", "aborted", None, 130)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        return _fail(as_json, "usage", exc.format_message(), None, exc.exit_code)
    except Nb2prodError as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, **exc.to_dict()}, indent=2, default=str))
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return _fail(as_json, "interrupted", "interrupted", None, 130)
    except Exception as exc:  # an nb2prod bug: still one line (NB2PROD_DEBUG=1 shows the traceback)
        if os.environ.get("NB2PROD_DEBUG"):
            raise
        return _fail(as_json, "internal", f"{type(exc).__name__}: {exc}"[:400],
                     "rerun with NB2PROD_DEBUG=1 to see the traceback, and report it as an nb2prod bug", 1)
    return 0


def _fail(as_json: bool, code: str, message: str, fix: str | None, exit_code: int) -> int:
    if as_json:
        click.echo(json.dumps({"ok": False, "error": code, "message": message, "fix": fix}, indent=2))
    click.echo(f"error: {message}" + (f" ({fix})" if fix else ""), err=True)
    return exit_code


def entry() -> None:  # console-script entry point
    sys.exit(main())
