/**
 * Drift side panel: a compact summary of one deployment's live version that links into the dashboard —
 * the version shown and its prediction count, the judged headline figures (dataset drift, live and
 * estimated performance, fairness, latency, fallbacks), the most drifted features one line each and the
 * latest alerts. The charts live in the full-width dashboard ("Open dashboard"); every line here fits the
 * side panel's default width (long values wrap, ids are shortened with the full value on hover).
 * Refreshes itself every `driftRefreshSeconds` (30 s) while visible and "live", without reloading the page.
 */
import { Nb2prodClient } from './client';
import { when } from './deploymentsModel';
import { el } from './dom';
import { DashboardOpener, DeploymentWindowPanel } from './refreshingPanel';
import { IAlertEvent, IFeatureDrift, IMonitorReport, PanelIDs } from './tokens';

const WINDOWS: [string, string][] = ['15m', '1h', '6h', '1d', '7d', 'all'].map(w => [w, w]);
/** Features listed in the side panel; the dashboard charts all of them. */
export const TOP_FEATURES = 5;
const ALERTS = 3;

/** `credit-v20261123t170102-3f9a1c` → `…t170102-3f9a1c`: the distinguishing tail of a version id. */
function shortId(id: string): string {
  return id.length > 18 ? `…${id.slice(-14)}` : id;
}

/** `1d` → "in the last day", `6h` → "in the last 6 hours", `all` → "so far". */
export function windowWords(window: string): string {
  const m = /^(\d+)([mhd])$/.exec(window);
  if (!m) {
    return window === 'all' ? 'so far' : `in ${window}`;
  }
  const unit = { m: 'minute', h: 'hour', d: 'day' }[m[2] as 'm' | 'h' | 'd'];
  return m[1] === '1' ? `in the last ${unit}` : `in the last ${m[1]} ${unit}s`;
}

/** One line per feature, most drifted first: what drifted and by how much, in words. */
export function featureLine(f: IFeatureDrift): string {
  const effect = `${f.effect_name === 'wasserstein_norm' ? 'shift' : 'distance'} ${f.effect.toFixed(2)}`;
  return f.drifted ? `drifted (${effect}, n=${f.n_current})` : `stable (${effect})`;
}

export class DriftPanel extends DeploymentWindowPanel {
  private readonly versionNode = el('p', { className: 'jp-nb2prod-version-line' });
  private readonly statsNode = el('div', { className: 'jp-nb2prod-stats' });
  private readonly featuresNode = el('ul', { className: 'jp-nb2prod-feature-list' });
  private readonly alertsNode = el('ul', { className: 'jp-nb2prod-alerts' });
  private readonly openButton: HTMLButtonElement | null;
  private shownVersion: string | undefined;

  constructor(client: Nb2prodClient, openDashboard?: DashboardOpener) {
    super(client, { id: PanelIDs.drift, className: 'jp-nb2prod-drift', title: 'Drift & fairness', live: true }, WINDOWS, '1d', openDashboard);
    this.openButton = openDashboard
      ? el('button', { className: 'jp-mod-styled jp-mod-accept jp-nb2prod-button jp-nb2prod-open-dashboard-summary', title: 'Charts of every feature, performance, fairness and operations over time' }, 'Open dashboard')
      : null;
    if (this.openButton && openDashboard) {
      this.openButton.onclick = () => openDashboard(this.select.value || undefined, this.shownVersion, this.windowSelect.value === 'all' ? undefined : this.windowSelect.value);
    }
    this.node.append(
      this.versionNode,
      this.statsNode,
      el('h4', {}, 'Most drifted features'),
      this.featuresNode,
      el('h4', {}, 'Latest alerts'),
      this.alertsNode,
      ...(this.openButton ? [this.openButton] : []),
      this.updatedNode
    );
  }

  protected async prepare(): Promise<void> {
    await this.fillDeployments(this.select);
  }

  /** Fetch the monitoring report (the live version's rows only) and the alerts, and redraw. */
  protected async load(): Promise<boolean> {
    const name = this.select.value;
    if (!name) {
      return false;
    }
    const [report, alerts] = await Promise.all([this.client.monitor(name, this.windowSelect.value), this.client.alerts(name, ALERTS)]);
    this.say(report.notes.join(' '));
    this.draw(report, alerts);
    return true;
  }

  private draw(report: IMonitorReport, alerts: IAlertEvent[]): void {
    const d = report.drift;
    const c = report.concept;
    const e = report.estimated;
    const ops = report.operations.overall;
    this.shownVersion = report.version_id ?? undefined;
    const version = report.version_id ?? '—';
    this.versionNode.replaceChildren(
      'Version ',
      el('code', { title: version }, shortId(version)),
      ` · ${report.n} predictions ${windowWords(report.window)}`
    );
    const stat = (label: string, value: string, flag = false, key = label): HTMLElement =>
      el('div', { className: `jp-nb2prod-stat${flag ? ' jp-mod-warn' : ''}`, dataset: { stat: key }, title: `${label}: ${value}` }, el('span', {}, label), el('strong', {}, value));
    const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : `${(100 * v).toFixed(1)}%`);
    const num = (v: number | null | undefined, digits = 3): string => (v === null || v === undefined ? '—' : v.toFixed(digits));
    const fairness = report.fairness?.attributes.filter(a => a.di_ratio !== null) ?? [];
    const judged = report.judgements ?? {};
    // A stat coloured by the server's judgement of its metric (the same the dashboard and the widget show).
    const judgedStat = (label: string, key: string, fallback: string, statKey = label): HTMLElement => {
      const j = judged[key];
      const node = stat(label, j ? j.value : fallback, j?.state === 'firing', statKey);
      if (j) {
        node.dataset.state = j.state;
        node.title = `${label} — ${j.state}: ${j.reason} (n=${j.n})`;
      }
      return node;
    };
    this.statsNode.replaceChildren(
      stat('predictions', String(report.n)),
      judgedStat('dataset drift', 'drift', d ? `${d.features.filter(f => f.drifted).length} of ${d.features.length} features` : '—'),
      judgedStat(c ? `live ${c.metric}` : 'live metric', 'live', c && c.live !== null ? num(c.live) : 'no labels yet'),
      judgedStat(e ? `estimated ${e.metric}` : 'estimated accuracy', 'estimated', e && e.estimated !== null ? num(e.estimated) : e ? e.verdict.replace(/_/g, ' ') : '—', 'estimated'),
      stat('min DI ratio', fairness.length ? num(Math.min(...fairness.map(a => a.di_ratio as number)), 2) : '—', fairness.some(a => a.verdict === 'adverse_impact')),
      stat('p95 latency', ops.latency_p95_ms !== null ? `${ops.latency_p95_ms.toFixed(1)} ms` : '—'),
      stat('fallback rate', pct(ops.fallback_rate))
    );
    // Per-feature figures from a handful of rows mean nothing: say so instead of listing them.
    const tooFew = judged['drift']?.state === 'insufficient';
    const top = d ? [...d.features].sort((a, b) => Number(b.drifted) - Number(a.drifted) || b.effect - a.effect).slice(0, TOP_FEATURES) : [];
    this.featuresNode.replaceChildren(
      ...(!d
        ? [el('li', {}, 'No drift figures for this window.')]
        : tooFew
        ? [el('li', { className: 'jp-nb2prod-reason' }, `Not judged: ${judged['drift'].value}.`)]
        : top.map(f =>
            el(
              'li',
              { className: f.drifted ? 'jp-mod-warn' : '', dataset: { feature: f.feature }, title: `${f.feature}: ${f.test} q=${f.q_value.toPrecision(2)}, ${f.effect_name} ${f.effect.toFixed(3)}` },
              el('strong', {}, f.feature),
              ` ${featureLine(f)}`
            )
          ))
    );
    this.alertsNode.replaceChildren(
      ...(alerts.length
        ? alerts.map(a => el('li', { className: 'jp-nb2prod-alert', title: `${a.metric} ${a.value} (threshold ${a.threshold}, ${a.window})` }, `${when(a.ts)} ${a.rule}: ${a.metric} ${a.value.toPrecision(3)} (threshold ${a.threshold})`))
        : [el('li', {}, 'No alerts.')])
    );
  }
}
