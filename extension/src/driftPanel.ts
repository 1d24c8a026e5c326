/**
 * Drift panel: per-feature drift over time against its threshold, the dataset drift score,
 * concept drift (live metric with CI vs validation), accuracy estimated from calibrated scores before labels
 * arrive, fairness ratios and recent alerts.
 * Refreshes itself every `driftRefreshSeconds` (30 s) while visible and "live", without reloading the page.
 */
import { Chart, themeColors } from './charts';
import { featureDriftSpec, fairnessSpec } from './chartSpecs';
import { drawable, bucketRows } from './dashboardModel';
import { datasetDriftTimeSpec, ITimeSpan, metricTimeSpec } from './dashboardSpecs';
import { ApiError, Nb2prodClient } from './client';
import { when } from './deploymentsModel';
import { el } from './dom';
import { DashboardOpener, DeploymentWindowPanel } from './refreshingPanel';
import { IAlertEvent, IDriftSeries, IMonitorReport, PanelIDs } from './tokens';

const WINDOWS: [string, string][] = ['15m', '1h', '6h', '1d', '7d', 'all'].map(w => [w, w]);

export class DriftPanel extends DeploymentWindowPanel {
  private readonly statsNode = el('div', { className: 'jp-nb2prod-stats' });
  private readonly tableNode = el('div', { className: 'jp-nb2prod-feature-table' });
  private readonly alertsNode = el('ul', { className: 'jp-nb2prod-alerts' });
  private readonly charts = {
    features: new Chart('jp-nb2prod-chart-features'),
    dataset: new Chart('jp-nb2prod-chart-dataset'),
    concept: new Chart('jp-nb2prod-chart-concept'),
    estimated: new Chart('jp-nb2prod-chart-estimated'),
    fairness: new Chart('jp-nb2prod-chart-fairness')
  };

  constructor(client: Nb2prodClient, openDashboard?: DashboardOpener) {
    super(client, { id: PanelIDs.drift, className: 'jp-nb2prod-drift', title: 'Drift & fairness', live: true }, WINDOWS, '1d', openDashboard);
    this.node.append(
      this.statsNode,
      this.charts.features.node,
      this.tableNode,
      this.charts.dataset.node,
      this.charts.concept.node,
      this.charts.estimated.node,
      this.charts.fairness.node,
      el('h4', {}, 'Alerts'),
      this.alertsNode,
      this.updatedNode
    );
  }

  dispose(): void {
    Object.values(this.charts).forEach(c => c.dispose());
    super.dispose();
  }

  protected async prepare(): Promise<void> {
    await this.fillDeployments(this.select);
  }

  /** Fetch the monitoring report, the per-feature series and the alerts, and redraw. */
  protected async load(): Promise<boolean> {
    const name = this.select.value;
    if (!name) {
      return false;
    }
    const window_ = this.windowSelect.value;
    const [report, series, alerts] = await Promise.all([
      this.client.monitor(name, window_),
      this.client.driftSeries(name, window_).catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 404) {
          return null;
        }
        throw error;
      }),
      this.client.alerts(name, 20)
    ]);
    this.say(report.notes.join(' '));
    await this.draw(report, series, alerts);
    return true;
  }

  private async draw(report: IMonitorReport, series: IDriftSeries | null, alerts: IAlertEvent[]): Promise<void> {
    const colors = themeColors(this.node);
    // the same honest time charts as the dashboard: the whole window on the axis, small buckets faded with n
    const end = report.until * 1000;
    const span: ITimeSpan = { start: report.since !== null ? report.since * 1000 : end - 3_600_000, end, window: report.window };
    const d = report.drift;
    const c = report.concept;
    const e = report.estimated;
    const ops = report.operations.overall;
    const stat = (label: string, value: string, flag = false, key = label): HTMLElement =>
      el('div', { className: `jp-nb2prod-stat${flag ? ' jp-mod-warn' : ''}`, dataset: { stat: key } }, el('span', {}, label), el('strong', {}, value));
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
        node.title = `${j.state}: ${j.reason} (n=${j.n})`;
      }
      return node;
    };
    this.statsNode.replaceChildren(
      stat('predictions', String(report.n)),
      judgedStat('dataset drift', 'drift', d ? `${num(d.score, 2)} (${d.features.filter(f => f.drifted).length}/${d.features.length})` : '—'),
      stat('concept drift', c && c.score !== null ? num(c.score, 3) : '—', !!c?.degraded),
      judgedStat(c ? `live ${c.metric}` : 'live metric', 'live', c && c.live !== null ? `${num(c.live)} [${num(c.live_low)}, ${num(c.live_high)}]` : '—'),
      stat('validation', c ? num(c.validation) : '—'),
      judgedStat(e ? `estimated ${e.metric}` : 'estimated accuracy', 'estimated', e && e.estimated !== null ? `${num(e.estimated)} [${num(e.low)}, ${num(e.high)}]` : e ? e.verdict.replace(/_/g, ' ') : '—', 'estimated'),
      stat('min DI ratio', fairness.length ? num(Math.min(...fairness.map(a => a.di_ratio as number)), 2) : '—', fairness.some(a => a.verdict === 'adverse_impact')),
      stat('p95 latency', ops.latency_p95_ms !== null ? `${ops.latency_p95_ms.toFixed(1)} ms` : '—'),
      stat('fallback rate', pct(ops.fallback_rate))
    );
    // Per-feature figures from a handful of rows mean nothing: say so instead of printing them.
    const tooFew = judged['drift']?.state === 'insufficient';
    this.tableNode.replaceChildren(
      ...(d && tooFew
        ? [el('p', { className: 'jp-nb2prod-reason' }, `Per-feature drift: ${judged['drift'].value}.`)]
        : d
        ? [
            el(
              'table',
              { className: 'jp-nb2prod-table' },
              el('thead', {}, el('tr', {}, ...['feature', 'test', 'effect', 'q (BH)'].map(h => el('th', {}, h)))),
              el(
                'tbody',
                {},
                ...[...d.features]
                  .sort((a, b) => b.effect - a.effect)
                  .map(f =>
                    el(
                      'tr',
                      { className: f.drifted ? 'jp-mod-warn' : '', dataset: { feature: f.feature }, title: f.drifted ? 'drifted' : 'no drift' },
                      el('td', {}, f.feature),
                      el('td', {}, f.test),
                      el('td', { title: f.effect_name }, f.effect.toFixed(3)),
                      el('td', {}, f.q_value < 0.001 ? '<0.001' : f.q_value.toFixed(3))
                    )
                  )
              )
            )
          ]
        : [])
    );
    this.alertsNode.replaceChildren(
      ...(alerts.length
        ? alerts.map(a => el('li', { className: 'jp-nb2prod-alert' }, `${when(a.ts)} ${a.rule}: ${a.metric} ${a.value.toPrecision(3)} (threshold ${a.threshold}, ${a.window})`))
        : [el('li', {}, 'no alerts')])
    );
    await Promise.all([
      this.charts.features.render(series && series.series.length ? featureDriftSpec(series.series, colors) : null),
      this.charts.dataset.render(report.drift_timeline.some(w => w.value !== null) ? datasetDriftTimeSpec(report.drift_timeline, span, colors) : null),
      this.charts.concept.render(
        c && drawable(bucketRows(c.windows))
          ? metricTimeSpec({ title: `Live ${c.metric}, 95% CI`, metric: c.metric, windows: c.windows, validation: c.validation, count: 'labels' }, span, colors)
          : null
      ),
      this.charts.estimated.render(
        e && drawable(bucketRows(e.windows))
          ? metricTimeSpec({ title: `Estimated ${e.metric} (no labels), 95% CI`, metric: e.metric, windows: e.windows, validation: e.validation, count: 'predictions' }, span, colors)
          : null
      ),
      this.charts.fairness.render(report.fairness && fairness.length ? fairnessSpec(report.fairness, colors) : null)
    ]);
  }
}
