"""The lint rules, one module each; importing this package registers them all (in report order)."""

from nb2prod.lint.rules import (  # noqa: F401
    data,
    environment,
    execution_order,
    hidden_state,
    portability,
    randomness,
    secrets,
    syntax,
)

__all__: list[str] = []
