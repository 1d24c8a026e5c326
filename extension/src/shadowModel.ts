/** Pure view-model of the Shadow panel: what a `ShadowComparison` says, as rows and lines (no DOM). */
import type { IAgreement, IShadowComparison } from './tokens';

/** One cell of the flip matrix: live decision → candidate decision. */
export interface IFlipCell {
  live: string;
  candidate: string;
  count: number;
  /** Share of all compared requests. */
  share: number;
  /** Whether both models decided the same (the diagonal). */
  agree: boolean;
}

/** Agreement of one segment value (e.g. `gender = female`). */
export interface ISegmentRow {
  column: string;
  value: string;
  label: string;
  n: number;
  agreement: number;
  low: number;
  high: number;
}

/** One headline number of the panel. */
export interface IShadowStat {
  key: string;
  label: string;
  value: string;
  /** Worth a second look (shown in the error colour). */
  flag: boolean;
  title?: string;
}

export type ShadowState = 'empty' | 'ready';

export const pct = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined ? '—' : `${(100 * v).toFixed(digits)}%`);

export const pValue = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v < 0.001 ? v.toExponential(1) : v.toFixed(3));

const num = (v: number | null | undefined, digits = 3): string => (v === null || v === undefined ? '—' : v.toFixed(digits));

/** Decisions sort numerically when they are numbers (`0`, `1`, `2`), else as text. */
function byDecision(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  return Number.isFinite(x) && Number.isFinite(y) ? x - y : a.localeCompare(b);
}

/** `empty` when no request was compared in the window (nothing to draw), else `ready`. */
export function shadowState(c: IShadowComparison): ShadowState {
  return c.overall.n === 0 && c.candidate_errors === 0 && !(c.candidate_timeouts ?? 0) ? 'empty' : 'ready';
}

/** `93.5% [91.2%, 95.1%]` */
export function agreementText(a: IAgreement): string {
  return a.agreement === null ? '—' : `${pct(a.agreement)} [${pct(a.low)}, ${pct(a.high)}]`;
}

/** Every live × candidate pair of decisions seen by either model, zero counts included, in decision order. */
export function flipCells(c: IShadowComparison): IFlipCell[] {
  const decisions = new Set<string>();
  for (const [live, row] of Object.entries(c.flip_matrix)) {
    decisions.add(live);
    Object.keys(row).forEach(d => decisions.add(d));
  }
  const order = [...decisions].sort(byDecision);
  const total = Object.values(c.flip_matrix).reduce((sum, row) => sum + Object.values(row).reduce((s, n) => s + n, 0), 0);
  return order.flatMap(live =>
    order.map(candidate => {
      const count = c.flip_matrix[live]?.[candidate] ?? 0;
      return { live, candidate, count, share: total ? count / total : 0, agree: live === candidate };
    })
  );
}

/** Requests where the two models decided differently. */
export function flips(c: IShadowComparison): number {
  return flipCells(c)
    .filter(cell => !cell.agree)
    .reduce((sum, cell) => sum + cell.count, 0);
}

/** Per-segment agreement rows (segments with no compared request left out), by column then value. */
export function segmentRows(c: IShadowComparison): ISegmentRow[] {
  return Object.entries(c.segments)
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([column, values]) =>
      Object.entries(values)
        .filter(([, a]) => a.agreement !== null)
        .sort(([a], [b]) => byDecision(a, b))
        .map(([value, a]) => ({
          column,
          value,
          label: `${column} = ${value}`,
          n: a.n,
          agreement: a.agreement as number,
          low: a.low ?? (a.agreement as number),
          high: a.high ?? (a.agreement as number)
        }))
    );
}

/**
 * The headline numbers: agreement with its CI, requests, flips, score divergence, candidate errors,
 * and — when feedback labels exist — both accuracies and McNemar's p-value.
 * `minAgreement` (the gate's 1 - max_divergence) flags an agreement below it.
 */
export function shadowStats(c: IShadowComparison, minAgreement: number | null = null): IShadowStat[] {
  const o = c.overall;
  const timeouts = c.candidate_timeouts ?? 0;
  const shadowed = c.shadowed ?? o.n + c.candidate_errors + timeouts;
  const stats: IShadowStat[] = [
    {
      key: 'agreement',
      label: 'agreement (95% CI)',
      value: agreementText(o),
      flag: minAgreement !== null && o.agreement !== null && o.agreement < minAgreement,
      title: minAgreement !== null ? `the gate wants at least ${pct(minAgreement)}` : undefined
    },
    { key: 'requests', label: 'compared requests', value: String(o.n), flag: false },
    { key: 'flips', label: 'decision flips', value: String(flips(c)), flag: false },
    { key: 'score-diff', label: 'score mean |diff|', value: num(c.score_mean_abs_diff), flag: false },
    {
      key: 'ks',
      label: 'KS statistic (p)',
      value: c.score_ks_statistic === null ? '—' : `${num(c.score_ks_statistic)} (p ${pValue(c.score_ks_p_value)})`,
      flag: c.score_ks_p_value !== null && c.score_ks_p_value < 0.05,
      title: 'two-sample Kolmogorov–Smirnov test of the score distributions'
    },
    {
      key: 'errors',
      label: 'candidate errors',
      value: shadowed ? `${c.candidate_errors} (${pct(c.candidate_errors / shadowed)})` : '0',
      flag: c.candidate_errors > 0,
      title: 'the candidate raised or crashed (late answers are counted apart, as timeouts)'
    },
    {
      key: 'timeouts',
      label: 'shadow timeouts',
      value: shadowed ? `${timeouts} (${pct(timeouts / shadowed)})` : '0',
      flag: false,
      title: 'answers that missed the shadow deadline: not compared, not errors'
    },
    {
      key: 'completeness',
      label: 'compared / shadowed',
      value: shadowed ? `${o.n} / ${shadowed} (${pct(c.completeness ?? o.n / shadowed)})` : '—',
      flag: shadowed > 0 && o.n / shadowed < 0.95,
      title: 'share of shadowed requests that produced a comparison'
    }
  ];
  const l = c.labelled;
  if (l.n > 0) {
    stats.push(
      { key: 'labelled', label: 'labelled requests', value: String(l.n), flag: false },
      { key: 'live-accuracy', label: 'live accuracy', value: pct(l.live_accuracy), flag: false },
      { key: 'candidate-accuracy', label: 'candidate accuracy', value: pct(l.candidate_accuracy), flag: false },
      {
        key: 'mcnemar',
        label: 'McNemar p',
        value: pValue(l.p_value),
        flag: l.p_value !== null && l.p_value < 0.05,
        title: `only candidate right: ${l.candidate_only}, only live right: ${l.live_only}`
      }
    );
  }
  return stats;
}

/** One sentence on the labelled outcomes, or why there is none. */
export function labelledSummary(c: IShadowComparison): string {
  const l = c.labelled;
  if (l.n === 0) {
    return 'No feedback labels on these requests yet: accuracy cannot be compared.';
  }
  const better = l.candidate_only > l.live_only ? 'candidate' : l.candidate_only < l.live_only ? 'live model' : null;
  const significant = l.p_value !== null && l.p_value < 0.05;
  const verdict = better ? `the ${better} is right more often${significant ? ' (significant at 5%)' : ' (not significant)'}` : 'no difference';
  return `On ${l.n} labelled requests: candidate ${pct(l.candidate_accuracy)} vs live ${pct(l.live_accuracy)} accurate; only the candidate right on ${l.candidate_only}, only live on ${l.live_only} — ${verdict}, McNemar p=${pValue(l.p_value)}.`;
}
