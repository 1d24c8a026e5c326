/**
 * Pure view-model of the monitoring dashboard: tiles from the server's judgements, ids shortened
 * for display, which version's rows the figures include, what a version may do (no DOM).
 */
import { shortVersion } from './deploymentsModel';
import type { IDashboard, IDashboardVersion, IJudgement, IMetricWindow, JudgementState } from './tokens';

/** Below this many rows a bucket is drawn faded and labelled with its n (the server judges with the same floor). */
export const MIN_ROWS = 30;

/** Windows the dashboard offers, as [value, label]. */
export const DASHBOARD_WINDOWS: [string, string][] = [
  ['15m', 'last 15 min'],
  ['1h', 'last hour'],
  ['6h', 'last 6 h'],
  ['1d', 'last day'],
  ['7d', 'last 7 days'],
  ['all', 'everything']
];

/** One overview tile. */
export interface ITile {
  key: string;
  label: string;
  value: string;
  state: JudgementState | 'info';
  title: string;
}

const LABELS: Record<string, string> = {
  drift: 'data drift',
  live: 'live performance',
  estimated: 'estimated performance',
  fairness: 'fairness (min DI ratio)',
  errors: 'errors',
  fallback: 'fallback answers'
};

/** `abcdef…wxyz`: the head and tail of a long id (the full id goes in the tooltip and the copy). */
export function shortId(id: string, max = 24): string {
  if (id.length <= max) {
    return id;
  }
  const keep = max - 1;
  const head = Math.ceil(keep / 2);
  return `${id.slice(0, head)}…${id.slice(id.length - (keep - head))}`;
}

/** The overview tiles: the version's predictions and each judged metric, in one fixed order. */
export function tiles(d: IDashboard): ITile[] {
  const mine = d.versions.find(v => v.version_id === d.version_id)?.n ?? 0;
  const ops = d.monitor.operations.overall;
  const out: ITile[] = [
    {
      key: 'predictions',
      label: 'predictions',
      value: String(mine),
      state: 'info',
      title: `${mine} answered by ${d.version_id} in the window (${d.monitor.n} by every version)`
    }
  ];
  for (const key of ['drift', 'live', 'estimated', 'fairness', 'errors', 'fallback']) {
    const j: IJudgement | undefined = d.judgements[key];
    if (j) {
      out.push({ key, label: LABELS[key] ?? key, value: j.value, state: j.state, title: `${j.state}: ${j.reason} (n=${j.n})` });
    }
  }
  out.push({
    key: 'latency',
    label: 'p95 latency',
    value: ops.latency_p95_ms === null ? '—' : `${ops.latency_p95_ms.toFixed(1)} ms`,
    state: 'info',
    title: `p50 ${fmt(ops.latency_p50_ms)} ms · p99 ${fmt(ops.latency_p99_ms)} ms`
  });
  const firing = d.alerts.filter(a => d.monitor.since === null || a.ts >= d.monitor.since).length;
  out.push({ key: 'alerts', label: 'alerts in window', value: String(firing), state: firing ? 'firing' : 'ok', title: 'alerts recorded for this deployment in the window' });
  return out;
}

const fmt = (v: number | null): string => (v === null ? '—' : v.toFixed(1));

/**
 * A sentence when the window's figures include rows of other versions (drift, fairness and
 * operations read every row of the deployment), so they are never mixed in silently; else null.
 */
export function mixedVersionsNote(d: IDashboard): string | null {
  const others = d.versions.filter(v => v.version_id !== d.version_id && v.n > 0);
  if (!others.length) {
    return null;
  }
  const mine = d.versions.find(v => v.version_id === d.version_id)?.n ?? 0;
  const list = others.map(v => `${shortVersion(v.version_id, d.name)} (${v.state}, ${v.n})`).join(', ');
  return `${mine} of the window's ${d.monitor.n} predictions are ${shortVersion(d.version_id, d.name)}'s; drift, fairness and operations also count ${list}. Live and estimated performance are this version's alone.`;
}

/** The version picker's label: `v20261123t170102-3f9a1c · live · 412 in window`. */
export function versionLabel(v: IDashboardVersion, name: string): string {
  return `${shortVersion(v.version_id, name)} · ${v.state} · ${v.n} in window`;
}

/** Bucket rows of a metric window series: value with band, n, and whether the bucket is too small to trust. */
export interface IBucketRow {
  time: number;
  start: number;
  value: number | null;
  low: number | null;
  high: number | null;
  n: number;
  few: boolean;
  label: string;
}

/** Every bucket, including empty and small ones (a small bucket is kept, flagged `few`, so it is drawn faded with its n). */
export function bucketRows(windows: readonly IMetricWindow[], minRows = MIN_ROWS): IBucketRow[] {
  return windows.map(w => ({
    time: ((w.start + w.end) / 2) * 1000,
    start: w.start * 1000,
    value: w.value,
    low: w.low ?? w.value,
    high: w.high ?? w.value,
    n: w.n,
    few: w.n < minRows,
    label: `n=${w.n}`
  }));
}

/** `%H:%M` within a day, with the date beyond. */
export function timeFormat(window: string): string {
  return ['15m', '1h', '6h', '1d'].includes(window) ? '%H:%M' : '%b %d %H:%M';
}

/** Whether a time chart has something to say: at least two buckets holding a value. */
export function drawable(rows: readonly { value: number | null }[]): boolean {
  return rows.filter(r => r.value !== null && r.value !== undefined).length >= 2;
}

/** Greedy word wrap of `text` into lines of at most `maxChars` (a longer word gets a line of its own). */
export function wrapText(text: string, maxChars: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > maxChars) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) {
    lines.push(line);
  }
  return lines;
}

/** A chart title wrapped to `widthPx`, so a narrow chart shows its whole title and subtitle on more lines. */
export function fitTitle(spec: Record<string, unknown>, widthPx: number): Record<string, unknown> {
  const title = spec['title'] as { text?: unknown; subtitle?: unknown } | undefined;
  if (!title || typeof title !== 'object' || widthPx <= 0) {
    return spec;
  }
  const flat = (v: unknown): string => (Array.isArray(v) ? v.join(' ') : typeof v === 'string' ? v : '');
  // ~7 px per character of the 12 px title, ~5.6 px of the 10 px subtitle (sans-serif, measured on the panels).
  const text = wrapText(flat(title.text), Math.max(12, Math.floor(widthPx / 7)));
  const subtitle = wrapText(flat(title.subtitle), Math.max(16, Math.floor(widthPx / 5.6)));
  return { ...spec, title: { ...title, text: text.length ? text : '', subtitle: subtitle.length ? subtitle : '' } };
}
