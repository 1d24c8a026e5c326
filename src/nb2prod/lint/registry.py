"""The rule registry: rule modules register their class with ``@register``."""

from __future__ import annotations

from nb2prod.lint.rule import Check, Rule

__all__ = ["all_rules", "catalog", "family_of", "register"]

_RULES: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    if cls.id in _RULES and _RULES[cls.id] is not cls:
        raise ValueError(f"lint rule id {cls.id!r} registered twice")
    _RULES[cls.id] = cls
    return cls


def all_rules() -> list[Rule]:
    """One instance of every registered rule, in registration order."""
    import nb2prod.lint.rules  # noqa: F401 - importing the package registers its modules

    return [cls() for cls in _RULES.values()]


def catalog() -> dict[str, tuple[str, Check]]:
    """``{"hidden-state/undefined-name": (family title, Check)}`` for every check of every rule."""
    import nb2prod.lint.rules  # noqa: F401

    return {f"{cls.id}/{name}": (cls.title, check) for cls in _RULES.values() for name, check in cls.checks.items()}


def family_of(rule_id: str) -> str:
    return rule_id.split("/", 1)[0]
