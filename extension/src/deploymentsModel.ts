/** Pure view-model of deployments: traffic split, which actions a version allows, history lines. */
import type { GateVerdict, IDeploymentStatus, IRegistryEvent, IVersionStatus } from './tokens';

export interface ITrafficSlice {
  role: 'live' | 'canary' | 'control';
  version: string;
  percent: number;
}

/** The versions that receive traffic and their share, as the server reports them (live, canary, control). */
export function trafficSlices(status: IDeploymentStatus): ITrafficSlice[] {
  const t = status.traffic;
  const roles: ITrafficSlice['role'][] = ['live', 'canary', 'control'];
  return roles.flatMap(role => {
    const id = t[role];
    const version = id ? status.versions.find(v => v.record.version_id === id) : undefined;
    return id && version ? [{ role, version: id, percent: version.traffic_percent }] : [];
  });
}

/** `credit-v20261123t170102-3f9a1c` → `v20261123t170102-3f9a1c` (the part after the name). */
export function shortVersion(versionId: string, name: string): string {
  return versionId.startsWith(`${name}-`) ? versionId.slice(name.length + 1) : versionId;
}

export type Action = 'promote' | 'canary' | 'rollback';
const PANEL_ACTIONS: readonly Action[] = ['promote', 'canary', 'rollback'];

/** The buttons a version gets: the actions the server allows on it now (`VersionStatus.actions`) that this panel offers. */
export function allowedActions(version: IVersionStatus): Action[] {
  return PANEL_ACTIONS.filter(action => version.actions.includes(action));
}

/** What the deployment-wide rollback would do now (from the server), or null when there is nothing to roll back. */
export function rollbackLabel(status: IDeploymentStatus): string | null {
  if (status.rollback_stops) {
    const what = status.rollback_stops === status.traffic.control ? 'the control group' : 'the canary';
    return `stop ${what} ${shortVersion(status.rollback_stops, status.name)}`;
  }
  return status.rollback_target ? `make ${shortVersion(status.rollback_target, status.name)} live again` : null;
}

/** Headline metrics of a version record, e.g. `roc_auc 0.812 · accuracy 0.774`. */
export function metricsLine(version: IVersionStatus): string {
  return Object.entries(version.record.metrics)
    .filter(([, v]) => typeof v === 'number')
    .slice(0, 4)
    .map(([k, v]) => `${k} ${(v as number).toFixed(3)}`)
    .join(' · ');
}

/** Gate decisions recorded with an event (`evidence.gate`, or `evidence.checks` when refused), one line each. */
export function gateLines(event: IRegistryEvent): string[] {
  const raw = Array.isArray(event.evidence['gate']) ? event.evidence['gate'] : event.evidence['checks'];
  if (!Array.isArray(raw)) {
    return [];
  }
  const num = (v: unknown): string | null => (typeof v === 'number' ? v.toFixed(4).replace(/\.?0+$/, '') : null);
  return raw.map(item => {
    const check = (item || {}) as Record<string, unknown>;
    const kind = String(check['check'] ?? check['name'] ?? 'check');
    const metric = check['metric'] ? ` ${String(check['metric'])}` : '';
    const value = num(check['value']);
    const limit = num(check['limit']);
    const live = num(check['live']);
    const versus = limit !== null ? ` vs limit ${limit}` : live !== null ? ` vs live ${live}` : '';
    const verdict = check['passed'] === undefined ? '' : check['passed'] ? 'passed' : 'FAILED';
    return `${kind}${metric}${value !== null ? ` ${value}` : ''}${versus}: ${verdict}`.trim();
  });
}

/** The newest shadow-gate decision recorded for `versionId` (history is newest first), or null. */
export function latestGate(status: IDeploymentStatus, versionId: string): IRegistryEvent | null {
  return status.events.find(e => e.action === 'gate' && e.version_id === versionId) ?? null;
}

/** The verdict of a `gate` event (`evidence.verdict`), or null when it has none. */
export function gateVerdict(event: IRegistryEvent | null): GateVerdict | null {
  const verdict = event?.evidence['verdict'];
  return verdict === 'pass' || verdict === 'blocked' || verdict === 'needs_approval' ? verdict : null;
}

/** The gate's reasons: the event reason is `shadow gate: VERDICT — reason; reason; …`. */
export function gateReasons(event: IRegistryEvent): string[] {
  const dash = event.reason.indexOf(' — ');
  const text = dash >= 0 ? event.reason.slice(dash + 3) : event.reason;
  return text
    .split('; ')
    .map(r => r.trim())
    .filter(Boolean);
}

const percent = (v: unknown): string => (typeof v === 'number' ? `${(100 * v).toFixed(1)}%` : '—');
const pValue = (v: unknown): string => (typeof v === 'number' ? (v < 0.001 ? v.toExponential(1) : v.toFixed(3)) : '—');

/** The evidence of a gate decision, one readable line per fact. */
export function gateEvidenceLines(event: IRegistryEvent): string[] {
  const e = event.evidence;
  const lines: string[] = [];
  if (typeof e['shadowed'] === 'number') {
    lines.push(`shadowed requests: ${e['shadowed']}`);
  }
  if (typeof e['agreement'] === 'number') {
    const ci = Array.isArray(e['agreement_ci']) ? e['agreement_ci'] : [];
    lines.push(`agreement: ${percent(e['agreement'])}${ci.length === 2 ? ` (95% CI ${percent(ci[0])}–${percent(ci[1])})` : ''}`);
  }
  const labelled = (e['labelled'] ?? null) as Record<string, unknown> | null;
  if (labelled && typeof labelled['n'] === 'number' && labelled['n'] > 0) {
    lines.push(
      `labelled: candidate ${percent(labelled['candidate_accuracy'])} vs live ${percent(labelled['live_accuracy'])} accurate on ${labelled['n']} ` +
        `(only candidate right ${String(labelled['candidate_only'])}, only live right ${String(labelled['live_only'])}, McNemar p=${pValue(labelled['p_value'])})`
    );
  }
  if (typeof e['candidate_errors'] === 'number') {
    lines.push(`candidate errors: ${e['candidate_errors']}`);
  }
  return lines;
}

export interface IPendingApproval {
  version: IVersionStatus;
  gate: IRegistryEvent;
  reasons: string[];
  evidence: string[];
}

/** The shadow version waiting for a human: in shadow, and its latest gate decision is `needs_approval`. */
export function pendingApproval(status: IDeploymentStatus): IPendingApproval | null {
  const shadow = status.traffic.shadow;
  const version = shadow ? status.versions.find(v => v.record.version_id === shadow && v.state === 'shadow') : undefined;
  const gate = version ? latestGate(status, version.record.version_id) : null;
  if (!version || !gate || gateVerdict(gate) !== 'needs_approval') {
    return null;
  }
  return { version, gate, reasons: gateReasons(gate), evidence: gateEvidenceLines(gate) };
}

/** `2026-11-23 17:01` in the browser's time zone. */
export function when(ts: number): string {
  const d = new Date(ts * 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
