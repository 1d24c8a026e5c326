"""Deterministic synthetic credit-default data for the example notebook and the demo.

Loan applications with a binary ``default`` target and a protected attribute (``gender``) that
the example model does not use as a feature, but which correlates with income — so disparate
impact can appear through proxies, as it does in real lending data.

Scenarios inject known drift, which tests and the demo use as ground truth:

- ``none``: the training distribution.
- ``economic_shift``: incomes fall, rates and utilisation rise (data drift) *and* the same debt
  load now defaults more often (concept drift) — the "economic shift that changes the default
  pattern".
- ``covariate_shift``: a younger applicant mix with more education and business loans; the
  relationship between features and default is unchanged (data drift only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CATEGORICAL", "FEATURES", "PROTECTED", "SCENARIOS", "TARGET", "make_credit_data"]

SCENARIOS = ("none", "economic_shift", "covariate_shift")
TARGET = "default"
PROTECTED = "gender"
CATEGORICAL = ("home_ownership", "purpose", "region", "gender")
FEATURES = (
    "age",
    "income",
    "employment_years",
    "loan_amount",
    "loan_term_months",
    "interest_rate",
    "debt_to_income",
    "credit_lines",
    "late_payments_2y",
    "credit_utilization",
    "home_ownership",
    "purpose",
    "region",
    "gender",
)

_PURPOSES = ("debt_consolidation", "car", "home_improvement", "education", "medical", "business")
_REGIONS = ("north", "south", "east", "west")


def make_credit_data(n: int, *, seed: int = 42, scenario: str = "none", severity: float = 1.0) -> pd.DataFrame:
    """Return ``n`` loan applications (features + ``default``), identical for the same arguments.

    ``severity`` scales the injected shift (0 = none, 1 = the documented scenario).
    """
    import pandas as pd

    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    rng = np.random.default_rng(seed)
    shift = severity if scenario != "none" else 0.0
    economic = shift if scenario == "economic_shift" else 0.0
    covariate = shift if scenario == "covariate_shift" else 0.0

    gender = rng.choice(np.array(["female", "male"]), size=n, p=[0.48, 0.52])
    age = np.clip(rng.normal(41 - 8 * covariate, 11, n), 21, 75).round().astype(int)
    base_income = rng.lognormal(np.log(52_000), 0.45, n) * np.where(gender == "female", 0.88, 1.0)
    income = (base_income * (1 - 0.15 * economic) * (0.6 + 0.4 * np.minimum(age, 55) / 55)).round(-2)
    employment_years = np.clip(rng.gamma(2.0, 3.0, n) * (age - 18) / 30 - 2 * economic, 0, 45).round(1)
    purpose_p = np.array([0.34, 0.2, 0.16, 0.1, 0.1, 0.1])
    if covariate:
        purpose_p = purpose_p + covariate * np.array([-0.14, -0.05, -0.05, 0.14, 0.0, 0.1])
        purpose_p = purpose_p / purpose_p.sum()
    purpose = rng.choice(np.array(_PURPOSES), size=n, p=purpose_p)
    home = rng.choice(np.array(["rent", "mortgage", "own"]), size=n, p=[0.42, 0.43, 0.15])
    region = rng.choice(np.array(_REGIONS), size=n, p=[0.3, 0.25, 0.25, 0.2])
    loan_amount = np.clip(rng.lognormal(np.log(12_000), 0.6, n), 1_000, 80_000).round(-2)
    loan_term = rng.choice(np.array([12, 24, 36, 60]), size=n, p=[0.15, 0.25, 0.4, 0.2])
    interest_rate = np.clip(rng.normal(9.5 + 3.0 * economic, 2.5, n), 3.0, 30.0).round(2)
    debt_to_income = np.clip(rng.beta(2.2, 6.0, n) + 0.06 * economic, 0, 1.5).round(3)
    credit_lines = rng.poisson(5, n)
    late_payments = rng.poisson(0.4 + 0.4 * economic, n)
    utilization = np.clip(rng.beta(2, 3.5, n) + 0.1 * economic, 0, 1).round(3)

    monthly_payment = loan_amount * (1 + interest_rate / 100 * loan_term / 12) / loan_term
    burden = monthly_payment / (income / 12)
    logit = (
        -4.6
        + (5.5 + 2.5 * economic) * debt_to_income
        + 4.0 * burden
        + 0.9 * late_payments
        + 2.4 * utilization
        + 0.14 * (interest_rate - 9.5)
        - 0.04 * (age - 40)
        - 0.1 * np.minimum(employment_years, 15)
        + 0.5 * (home == "rent")
        + 0.5 * (purpose == "business")
        + 0.4 * (purpose == "medical")
        - 0.3 * (home == "own")
        - 0.7 * economic
    )
    default = rng.random(n) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(
        {
            "age": age,
            "income": income,
            "employment_years": employment_years,
            "loan_amount": loan_amount,
            "loan_term_months": loan_term,
            "interest_rate": interest_rate,
            "debt_to_income": debt_to_income,
            "credit_lines": credit_lines,
            "late_payments_2y": late_payments,
            "credit_utilization": utilization,
            "home_ownership": home,
            "purpose": purpose,
            "region": region,
            "gender": gender,
            TARGET: default.astype(int),
        }
    )
    return frame
