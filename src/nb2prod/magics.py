"""IPython magics: ``%nb2prod …`` (the CLI inside the notebook, plus notebook-aware extras).

Loaded with ``%load_ext nb2prod``. Thin: parse, call the core, present.
"""

from __future__ import annotations

import shlex

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
        code = main(argv or ["--help"])
        if code:
            print(f"(exit code {code})")


def load_ipython_extension(ipython: object) -> None:
    ipython.register_magics(Nb2prodMagics)  # type: ignore[attr-defined]
