"""Shadow comparison, the two-stage gate, traffic routing and the canary check."""

from nb2prod.rollout.canary import evaluate_canary
from nb2prod.rollout.compare import compare_shadow, mcnemar_exact, wilson
from nb2prod.rollout.gate import shadow_gate
from nb2prod.rollout.routing import Route, bucket, route_request

__all__ = ["Route", "bucket", "compare_shadow", "evaluate_canary", "mcnemar_exact", "route_request", "shadow_gate", "wilson"]
