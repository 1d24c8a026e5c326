"""Traffic transitions: pure functions from a deployment's registry state and a request to the next state.

Every change of who answers a deployment's traffic — a deploy (live or as a shadow), shadow,
control, canary, promote, rollback, the canary check's automatic rollback, a failed deploy
undone — is a :class:`TransitionRequest` planned here into a :class:`~nb2prod.store.snapshot.Change`
(new routing, version states, the event saying why) or refused with a typed error:

- a malformed request (bad percent, shares leaving no live traffic) → :class:`UsageError`;
- an unknown version → :class:`NotFoundError`;
- a version a gate refused, or a shadow version without a passing shadow gate → :class:`GateRefusedError`;
- a request that clashes with the current routing (already live, nothing live to split with,
  the routing changed under a deploy) → :class:`ConflictError`.

``Registry.apply`` writes the change in one transaction with compare-and-set on the routing, so
nothing here does I/O. A version holds at most one role (live, shadow, canary, control): taking a
new role leaves the old one, and a version displaced from a role changes state with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

from nb2prod.errors import ConflictError, GateRefusedError, Nb2prodError, NotFoundError, UsageError
from nb2prod.models import RegistryEvent, Traffic, VersionRecord, VersionState
from nb2prod.store.snapshot import LIVE_ACTIONS, Change, RegistrySnapshot

__all__ = [
    "LIVE_ACTIONS",
    "ROLES",
    "TransitionRequest",
    "advance",
    "allowed_actions",
    "percent",
    "plan",
    "rollback_target",
    "shares",
]

Kind = Literal["deploy", "shadow", "control", "canary", "promote", "rollback", "stop_canary", "undeploy"]
ROLES = ("live", "shadow", "canary", "control")
_ROLE_STATE = {"live": VersionState.LIVE, "shadow": VersionState.SHADOW, "canary": VersionState.CANARY, "control": VersionState.CONTROL}
_EMPTY_PERCENT = {"shadow": 100.0, "canary": 0.0, "control": 0.0}


@dataclasses.dataclass(frozen=True, slots=True)
class TransitionRequest:
    """One traffic change asked for by a front, the deploy path or the canary check.

    ``version_id``: the version the change is about (for ``rollback``, the version to make live;
    ``None`` means the previous live one). ``percent``: the share for shadow / control / canary,
    or, on a ``deploy``, the shadow share (the new version shadows the live one instead of replacing
    it). ``expected_live``: on a ``deploy``, the live version its gates compared against (the
    deploy is refused if another version went live meanwhile); on ``undeploy``, the version to put
    back live. ``gate``: on ``promote``, the shadow gate's verdict (``pass`` or ``approved``); on
    ``canary``, the version's latest recorded shadow gate verdict (``None`` if never gated) —
    ``blocked`` is refused, ``approved`` is a human overriding that block.
    """

    kind: Kind
    version_id: str | None = None
    percent: float | None = None
    actor: str = "nb2prod"
    reason: str = ""
    evidence: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    record: VersionRecord | None = None
    expected_live: str | None = None
    gate: str | None = None

    def summary(self) -> dict[str, Any]:
        """What the history keeps of the request, enough to replay it."""
        return {"kind": self.kind, "version_id": self.version_id, "percent": self.percent,
                "expected_live": self.expected_live, "gate": self.gate}


def percent(value: object, what: str, *, allow_full: bool) -> float:
    """The one check of a traffic share: a number above 0 and below 100 (at most 100 with ``allow_full``)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (0 < value <= 100 if allow_full else 0 < value < 100)
    if not ok:
        bounds = "above 0 and at most 100" if allow_full else "between 0 and 100 (exclusive)"
        raise UsageError(f"{what} percent must be {bounds}, got {value!r}", fix="e.g. 10")
    return float(value)  # type: ignore[arg-type]


def shares(traffic: Traffic) -> dict[str, float]:
    """Each answering version's share of requests in percent (the shadow answers none)."""
    out: dict[str, float] = {}
    if traffic.control:
        out[traffic.control] = traffic.control_percent
    if traffic.canary:
        out[traffic.canary] = traffic.canary_percent
    if traffic.live:
        out[traffic.live] = max(0.0, 100.0 - sum(out.values()))
    return out


def rollback_target(snapshot: RegistrySnapshot) -> str | None:
    """The version a plain rollback makes live: the one live before the current one (``None`` if none)."""
    lives = [v for v in snapshot.lives if snapshot.states.get(v) not in (None, VersionState.REFUSED)]
    while lives and lives[-1] == snapshot.traffic.live:
        lives.pop()
    return lives[-1] if lives else None


def allowed_actions(snapshot: RegistrySnapshot, version_id: str, gate: str | None = None) -> tuple[str, ...]:
    """The traffic actions a panel offers on one version: those :func:`plan` accepts now.

    A retired version goes back live only by a rollback to it; a refused one never gets traffic;
    a shadow is offered ``promote`` because promoting runs its shadow gate first. ``gate``: the
    version's latest recorded shadow gate verdict — a ``blocked`` one is not offered ``canary``.
    """
    state = snapshot.states.get(version_id)
    tries: tuple[tuple[Kind, float | None], ...] = (
        (("rollback", None), ("control", 1.0)) if state == VersionState.RETIRED
        else (("promote", None), ("canary", 1.0), ("shadow", 100.0), ("control", 1.0))
    )
    routing = snapshot.traffic.to_dict()
    allowed = []
    for kind, share in tries:
        if routing.get(kind) == version_id:
            continue  # already in that role
        try:
            plan(snapshot, TransitionRequest(kind, version_id, share, gate=gate if kind == "canary" else "pass"))
        except Nb2prodError:
            continue
        allowed.append(kind)
    return tuple(allowed)


class _Draft:
    """A working copy of the routing and the states a plan changes."""

    def __init__(self, snapshot: RegistrySnapshot) -> None:
        self.snapshot = snapshot
        self.routing: dict[str, Any] = snapshot.traffic.to_dict()
        self.states: dict[str, VersionState] = {}

    def vacate(self, version: str, *, to: VersionState | None) -> None:
        for role in ROLES:
            if self.routing[role] == version:
                self.routing[role] = None
                if role in _EMPTY_PERCENT:
                    self.routing[f"{role}_percent"] = _EMPTY_PERCENT[role]
        if to is not None:
            self.states[version] = to

    def assign(self, role: str, version: str, share: float | None = None, *, displaced: VersionState) -> str | None:
        """Give ``version`` the ``role`` (leaving any other); the previous holder goes to ``displaced``."""
        previous = self.routing[role]
        previous = None if previous == version else previous
        self.vacate(version, to=None)
        if previous:
            self.vacate(previous, to=displaced)
        self.routing[role] = version
        if share is not None:
            self.routing[f"{role}_percent"] = share
        self.states[version] = _ROLE_STATE[role]
        return previous

    def change(self, request: TransitionRequest, action: str, version_id: str | None, reason: str, evidence: dict[str, Any], *,
               added: VersionRecord | None = None, removed: str | None = None) -> Change:
        traffic = Traffic(**self.routing)
        routing = {k: v for k, v in traffic.to_dict().items() if k not in ("name", "updated_at")}
        event = RegistryEvent(
            name=self.snapshot.name, action=action, version_id=version_id, actor=request.actor, reason=request.reason or reason,
            evidence={**request.evidence, **evidence, "transition": request.summary(), "routing": routing},
        )
        states = {v: s for v, s in self.states.items() if self.snapshot.states.get(v) != s or v == getattr(added, "version_id", None)}
        return Change(traffic=traffic, states=states, event=event, added=added, removed=removed)


def _routable(snapshot: RegistrySnapshot, version_id: str | None, verb: str) -> str:
    if not version_id:
        raise UsageError(f"say which version of {snapshot.name!r} to {verb}", fix=f"give NAME:VERSION (see `nb2prod versions {snapshot.name}`)")
    state = snapshot.states.get(version_id)
    if state is None:
        raise NotFoundError(f"no version {version_id!r} of {snapshot.name!r}", fix=f"list versions with `nb2prod versions {snapshot.name}`")
    if state == VersionState.REFUSED:
        raise GateRefusedError(f"{version_id} was refused by a gate and cannot receive traffic", fix="deploy a version that passes the gates")
    return version_id


_LIVE_ALREADY = {
    "shadow": ("{v} is live; it cannot shadow itself", "shadow a candidate version"),
    "canary": ("{v} is live already", "canary a candidate or retired version"),
    "control": ("{v} is live; the control group needs another version", "pick an earlier version"),
}


def _needs_live(snapshot: RegistrySnapshot, version_id: str, role: str) -> str:
    live = snapshot.traffic.live
    if live is None:
        raise ConflictError(f"{snapshot.name!r} has no live version to {role} beside", fix=f"promote {version_id} instead")
    if live == version_id:
        message, fix = _LIVE_ALREADY[role]
        raise ConflictError(message.format(v=version_id), fix=fix)
    return live


def _deploy(s: RegistrySnapshot, r: TransitionRequest) -> Change:
    if r.record is None:
        raise UsageError("a deploy transition needs the version record", fix="pass record=VersionRecord(...)")
    vid, live = r.record.version_id, s.traffic.live
    if vid in s.states:
        raise ConflictError(f"version {vid} is already registered", fix="deploy under a new version id")
    if live != r.expected_live:
        raise ConflictError(
            f"{live or 'no version'} became live for {s.name!r} while {vid} was being built (its gates compared it with "
            f"{r.expected_live or 'no live version'}); nothing was registered",
            fix=f"deploy again to compare with the version live now (`nb2prod versions {s.name}`)",
        )
    d = _Draft(s)
    if r.percent is not None:
        share = percent(r.percent, "shadow", allow_full=True)
        if live is None:
            raise ConflictError(f"{s.name!r} has no live version for a shadow to run beside",
                                fix="deploy without --shadow first; later versions can shadow it")
        replaced = d.assign("shadow", vid, share, displaced=VersionState.CANDIDATE)
        return d.change(r, "shadow", vid, f"deployed {vid} as a shadow of {live} on {share:g}% of live requests",
                        {"percent": share, "replaced": replaced}, added=r.record)
    d.assign("live", vid, displaced=VersionState.RETIRED)
    return d.change(r, "deploy", vid, f"deployed {vid}" + (f" replacing {live}" if live else ""), {"previous": live}, added=r.record)


def _shadow(s: RegistrySnapshot, r: TransitionRequest) -> Change:
    share = percent(r.percent, "shadow", allow_full=True)
    vid = _routable(s, r.version_id, "shadow")
    _needs_live(s, vid, "shadow")
    d = _Draft(s)
    replaced = d.assign("shadow", vid, share, displaced=VersionState.CANDIDATE)
    return d.change(r, "shadow", vid, f"shadow {vid} on {share:g}% of live requests", {"percent": share, "replaced": replaced})


def _split(s: RegistrySnapshot, r: TransitionRequest, role: str) -> Change:
    share = percent(r.percent, role, allow_full=False)
    vid = _routable(s, r.version_id, "canary" if role == "canary" else "use as the control")
    _needs_live(s, vid, role)
    if role == "canary" and r.gate == "blocked":
        # consistent with promote: a version the shadow gate kept from promotion gets no real traffic unless a human says so
        raise GateRefusedError(f"the shadow gate blocked {vid}, so it gets no real traffic as a canary",
                               fix=f"if you accept the risk, approve with `nb2prod canary {s.name}:{vid} --percent {share:g} --approve`")
    other = "control" if role == "canary" else "canary"
    other_share = float(getattr(s.traffic, f"{other}_percent")) if getattr(s.traffic, other) not in (None, vid) else 0.0
    if share + other_share >= 100:
        raise UsageError(f"{role} {share:g}% + {other} {other_share:g}% leaves no live traffic", fix="use a smaller share")
    d = _Draft(s)
    replaced = d.assign(role, vid, share, displaced=VersionState.CANDIDATE)
    reason = f"canary {vid} at {share:g}%" if role == "canary" else f"control group: {share:g}% served by {vid}"
    if getattr(s.traffic, other) == vid:
        reason += f" (it was the {other}, which stops)"
    if r.gate == "approved":
        reason += " (approved by a human despite the shadow gate's block)"
    return d.change(r, role, vid, reason, {"percent": share, "replaced": replaced, "from_state": s.states[vid].value})


def _promote(s: RegistrySnapshot, r: TransitionRequest) -> Change:
    vid = _routable(s, r.version_id, "promote")
    previous = s.traffic.live
    if previous == vid:
        raise ConflictError(f"{vid} is already live", fix="promote another version, or roll back")
    state = s.states[vid]
    if state == VersionState.SHADOW and r.gate not in ("pass", "approved"):
        raise GateRefusedError(f"{vid} is in shadow and has not passed the shadow gate",
                               fix=f"run `nb2prod gate {s.name}` (the promote command runs it for you)")
    d = _Draft(s)
    d.assign("live", vid, displaced=VersionState.RETIRED)
    return d.change(r, "promote", vid, f"promoted {vid}" + (f" replacing {previous}" if previous else ""),
                    {"previous": previous, "from_state": state.value})


def _stop_canary(s: RegistrySnapshot, r: TransitionRequest) -> Change:
    return _end_canary(s, r, r.version_id)


def _end_canary(s: RegistrySnapshot, r: TransitionRequest, expected: str | None) -> Change:
    canary = s.traffic.canary
    if canary is None or (expected is not None and canary != expected):
        raise ConflictError(f"the canary of {s.name!r} is now {canary or 'stopped'}, not {expected}; nothing was changed",
                            fix=f"look at `nb2prod versions {s.name}`")
    d = _Draft(s)
    d.vacate(canary, to=VersionState.RETIRED)
    return d.change(r, "rollback", s.traffic.live, f"stopped the canary {canary} ({s.traffic.canary_percent:g}%)",
                    {"canary": canary, "canary_percent": s.traffic.canary_percent})


def _end_control(s: RegistrySnapshot, r: TransitionRequest) -> Change:
    control = s.traffic.control
    assert control is not None
    d = _Draft(s)
    d.vacate(control, to=VersionState.RETIRED if s.lives and control in s.lives else VersionState.CANDIDATE)
    return d.change(r, "rollback", s.traffic.live, f"stopped the control group {control} ({s.traffic.control_percent:g}%)",
                    {"control": control, "control_percent": s.traffic.control_percent})


def _rollback(s: RegistrySnapshot, r: TransitionRequest) -> Change:
    # a plain rollback first ends the experiment that answers requests (canary, then control group),
    # so the live version answers everything again; only then does it replace the live version
    if r.version_id is None and s.traffic.canary:
        return _end_canary(s, r, s.traffic.canary)
    if r.version_id is None and s.traffic.control:
        return _end_control(s, r)
    target = _routable(s, r.version_id, "roll back to") if r.version_id is not None else rollback_target(s)
    if target is None:
        raise ConflictError(f"{s.name!r} has no earlier live version to roll back to", fix="promote a version instead")
    previous = s.traffic.live
    if target == previous:
        raise ConflictError(f"{target} is already live", fix="roll back to another version")
    d = _Draft(s)
    d.assign("live", target, displaced=VersionState.RETIRED)
    return d.change(r, "rollback", target, f"rolled back from {previous} to {target}", {"previous": previous})


def _undeploy(s: RegistrySnapshot, r: TransitionRequest) -> Change:
    vid = r.version_id
    if vid is None or vid not in s.states:
        raise NotFoundError(f"no version {vid!r} of {s.name!r} to undo", fix="nothing to undo")
    was_live = s.traffic.live == vid
    d = _Draft(s)
    d.vacate(vid, to=None)
    back = r.expected_live
    if was_live and back and s.states.get(back) not in (None, VersionState.REFUSED):
        d.assign("live", back, displaced=VersionState.RETIRED)
    return d.change(r, "deploy_undone", vid, "deploy failed after registration; routing restored", {"restored": back if was_live else None},
                    removed=vid)


_PLANS = {
    "deploy": _deploy, "shadow": _shadow, "control": lambda s, r: _split(s, r, "control"),
    "canary": lambda s, r: _split(s, r, "canary"), "promote": _promote, "rollback": _rollback,
    "stop_canary": _stop_canary, "undeploy": _undeploy,
}


def plan(snapshot: RegistrySnapshot, request: TransitionRequest) -> Change:
    """The change ``request`` makes to ``snapshot``, or a typed refusal (see the module docstring)."""
    try:
        planner = _PLANS[request.kind]
    except KeyError:
        raise UsageError(f"unknown traffic change {request.kind!r}", fix="one of " + ", ".join(sorted(_PLANS))) from None
    return planner(snapshot, request)


def advance(snapshot: RegistrySnapshot, change: Change) -> RegistrySnapshot:
    """The snapshot after ``change`` is written (what ``Registry.snapshot`` then reads back)."""
    states = {v: s for v, s in snapshot.states.items() if v != change.removed}
    states.update(change.states)
    lives = snapshot.lives
    if change.event.action in LIVE_ACTIONS and change.event.version_id:
        lives = (*lives, change.event.version_id)
    return RegistrySnapshot(name=snapshot.name, traffic=change.traffic, states=states, lives=lives)
