"""``nb2prod lint PATH...``: reproducibility findings as text, JSON or SARIF; exit code from severity."""

from __future__ import annotations

from pathlib import Path

import click

from nb2prod.api import Workspace
from nb2prod.cli.app import cli, pass_workspace
from nb2prod.models import Severity

__all__: list[str] = []

_FIXES = ("seed", "paths", "requirements", "manifest", "all")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True, help="Report format.")
@click.option("--run", is_flag=True, help="Also restart-and-run-all each notebook (twice, fresh kernels) and compare outputs.")
@click.option("--timeout", type=click.FloatRange(1, 86_400), default=600, show_default=True, help="Seconds allowed per re-execution.")
@click.option(
    "--fix",
    "fixes",
    multiple=True,
    type=click.Choice(_FIXES),
    help="Apply a safe fix before linting (repeatable): seed cell, relative paths, pinned requirements.txt, data manifest.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info", "never"]),
    default="error",
    show_default=True,
    help="Exit with code 1 when a finding at or above this severity exists.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write the report to this file instead of stdout.")
@click.option("-q", "--quiet", is_flag=True, help="Text format: hide info findings.")
@click.pass_context
@pass_workspace
def lint(
    ws: Workspace,
    ctx: click.Context,
    paths: tuple[str, ...],
    fmt: str,
    run: bool,
    timeout: float,
    fixes: tuple[str, ...],
    fail_on: str,
    output: str | None,
    quiet: bool,
) -> None:
    """Check notebooks (files or folders) for reproducibility problems.

    Exit code 0 when no finding reaches --fail-on, 1 when one does; a corrupt or non-notebook
    file is reported as an error finding for that file while the others are still linted.
    """
    from nb2prod.lint.render import render_json, render_sarif, render_text

    if fixes:
        for notebook in ws.notebooks_in(paths):
            try:
                results = ws.lint_fix(notebook, fixes)
            except Exception as exc:  # a corrupt file: lint reports it below
                click.echo(f"fix skipped for {notebook}: {exc}", err=True)
                continue
            for result in results:
                if result.changed:
                    click.echo(f"fixed {result.kind}: {result.path}: {result.detail}", err=fmt != "text" or output is None)
    reports = ws.lint_paths(list(paths), run=run, timeout_s=timeout)
    if fmt == "json":
        text = render_json(reports)
    elif fmt == "sarif":
        text = render_sarif(reports)
    else:
        text = render_text(reports, min_severity=Severity.WARNING if quiet else Severity.INFO)
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
        click.echo(f"report written to {output}", err=True)
    else:
        click.echo(text)
    if fail_on != "never":
        threshold = Severity(fail_on)
        if any(f.severity.rank >= threshold.rank for r in reports for f in r.findings):
            ctx.exit(1)
