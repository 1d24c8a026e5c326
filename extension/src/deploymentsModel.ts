/** Pure view-model of deployments: traffic split, which actions a version allows, history lines. */
import type { IDeploymentStatus, IRegistryEvent, IVersionStatus } from './tokens';

export interface ITrafficSlice {
  role: 'live' | 'canary' | 'control';
  version: string;
  percent: number;
}

/** The versions that receive traffic and their share (sums to 100 when a version is live). */
export function trafficSlices(status: IDeploymentStatus): ITrafficSlice[] {
  const t = status.traffic;
  const slices: ITrafficSlice[] = [];
  const others = (t.canary ? t.canary_percent : 0) + (t.control ? t.control_percent : 0);
  if (t.live) {
    slices.push({ role: 'live', version: t.live, percent: Math.max(0, 100 - others) });
  }
  if (t.canary) {
    slices.push({ role: 'canary', version: t.canary, percent: t.canary_percent });
  }
  if (t.control) {
    slices.push({ role: 'control', version: t.control, percent: t.control_percent });
  }
  return slices;
}

/** `credit-v20261123t170102-3f9a1c` → `v20261123t170102-3f9a1c` (the part after the name). */
export function shortVersion(versionId: string, name: string): string {
  return versionId.startsWith(`${name}-`) ? versionId.slice(name.length + 1) : versionId;
}

export type Action = 'promote' | 'canary';

/** The buttons a version gets: not on the live version, never on a refused one. */
export function allowedActions(version: IVersionStatus, status: IDeploymentStatus): Action[] {
  if (version.state === 'refused' || version.record.version_id === status.traffic.live) {
    return [];
  }
  const actions: Action[] = ['promote'];
  if (status.traffic.live && version.record.version_id !== status.traffic.canary) {
    actions.push('canary');
  }
  return actions;
}

/** What a rollback would do now, or null when there is nothing to roll back. */
export function rollbackLabel(status: IDeploymentStatus): string | null {
  if (status.traffic.canary) {
    return `stop the canary ${shortVersion(status.traffic.canary, status.name)}`;
  }
  const lives = [...status.events]
    .reverse()
    .filter(e => ['deploy', 'promote', 'rollback'].includes(e.action) && e.version_id)
    .map(e => e.version_id as string);
  while (lives.length && lives[lives.length - 1] === status.traffic.live) {
    lives.pop();
  }
  const previous = lives.length ? lives[lives.length - 1] : null;
  return previous ? `make ${shortVersion(previous, status.name)} live again` : null;
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

/** `2026-11-23 17:01` in the browser's time zone. */
export function when(ts: number): string {
  const d = new Date(ts * 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
