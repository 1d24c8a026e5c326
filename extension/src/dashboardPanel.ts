/**
 * The full-width monitoring dashboard (main area): one deployment, one explicit version, one
 * window — overview tiles coloured by the server's judgements, drift over time per feature,
 * dataset drift, live and estimated performance with their bands, fairness per group, operations,
 * the shadow comparison and alerts. One request per refresh (`deployments/NAME/dashboard`).
 */
import { Widget } from '@lumino/widgets';

import { Chart, themeColors } from './charts';
import { fairnessSpec, IThemeColors, topFeatures } from './chartSpecs';
import { Nb2prodClient } from './client';
import { DASHBOARD_WINDOWS, drawable, mixedVersionsNote, shortId, tiles, versionLabel } from './dashboardModel';
import { datasetDriftTimeSpec, featureTimeSpec, ITimeSpan, latencySpec, metricTimeSpec, trafficSpec, groupRatesSpec } from './dashboardSpecs';
import { shortVersion, when } from './deploymentsModel';
import { el, idNode } from './dom';
import { RefreshingPanel } from './refreshingPanel';
import { shadowState, shadowStats } from './shadowModel';
import { agreementSpec, flipMatrixSpec, scoreDistributionSpec } from './shadowSpecs';
import type { IDashboard } from './tokens';

function section(title: string, className: string, ...children: (Node | null)[]): HTMLElement {
  return el('section', { className: `jp-nb2prod-dash-section ${className}` }, el('h3', {}, title), ...children);
}

export class DashboardPanel extends RefreshingPanel {
  readonly select = el('select', { className: 'jp-nb2prod-select', title: 'Deployment' });
  readonly versionSelect = el('select', { className: 'jp-nb2prod-select jp-nb2prod-version-select', title: 'Version' });
  readonly windowSelect = el('select', { className: 'jp-nb2prod-select', title: 'Window' });
  /** The last answer (the browser tests and the benchmark read `server_ms` from it). */
  last: IDashboard | null = null;
  private readonly headNode = el('div', { className: 'jp-nb2prod-dash-head' });
  private readonly mixedNode = el('div', { className: 'jp-nb2prod-dash-mixed' });
  private readonly tilesNode = el('div', { className: 'jp-nb2prod-tiles' });
  private readonly bodyNode = el('div', { className: 'jp-nb2prod-dash-body' });
  private charts: Chart[] = [];
  private resizeTimer = 0;
  private drawnWidth = 0;

  constructor(client: Nb2prodClient, id: string) {
    super(client, { id, className: 'jp-nb2prod-dashboard', title: 'Monitoring dashboard', live: true });
    for (const [value, label] of DASHBOARD_WINDOWS) {
      this.windowSelect.append(el('option', { value, selected: value === '1d' }, label));
    }
    this.select.onchange = () => {
      this.versionSelect.replaceChildren();
      void this.refresh();
    };
    this.versionSelect.onchange = () => void this.refresh();
    this.windowSelect.onchange = () => void this.refresh();
    this.setControls(this.select, this.versionSelect, this.windowSelect);
    this.node.append(this.headNode, this.mixedNode, this.tilesNode, this.bodyNode, this.updatedNode);
  }

  /** Show `name` (and `version`, default the live one) over `window`, then refresh. */
  async show(name?: string, version?: string, window?: string): Promise<void> {
    await this.prepare();
    if (name && [...this.select.options].some(o => o.value === name)) {
      if (this.select.value !== name) {
        this.versionSelect.replaceChildren();
      }
      this.select.value = name;
    }
    if (version) {
      this.versionSelect.replaceChildren(el('option', { value: version, selected: true }, shortVersion(version, this.select.value)));
    }
    if (window && DASHBOARD_WINDOWS.some(([w]) => w === window)) {
      this.windowSelect.value = window;
    }
    await this.refresh();
  }

  protected async prepare(): Promise<void> {
    await this.fillDeployments(this.select);
  }

  dispose(): void {
    window.clearTimeout(this.resizeTimer);
    this.charts.forEach(c => c.dispose());
    super.dispose();
  }

  /** Redraw the last answer once the width settles: titles re-wrap and grids reflow (no new request). */
  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    window.clearTimeout(this.resizeTimer);
    const width = this.node.clientWidth;
    if (this.last && width !== this.drawnWidth) {
      this.resizeTimer = window.setTimeout(() => this.last && void this.draw(this.last), 250);
    }
  }

  protected async load(): Promise<boolean> {
    const name = this.select.value;
    if (!name) {
      return false;
    }
    const d = await this.client.dashboard(name, this.windowSelect.value, this.versionSelect.value || undefined);
    this.last = d;
    this.fillVersions(d);
    this.say(d.monitor.notes.concat(d.notes).join(' '));
    await this.draw(d);
    return true;
  }

  private fillVersions(d: IDashboard): void {
    this.versionSelect.replaceChildren(
      ...d.versions.map(v => el('option', { value: v.version_id, selected: v.version_id === d.version_id, title: v.version_id }, versionLabel(v, d.name)))
    );
  }

  private async draw(d: IDashboard): Promise<void> {
    this.drawnWidth = this.node.clientWidth;
    const c = themeColors(this.node);
    const m = d.monitor;
    const end = m.until * 1000;
    const start = m.since !== null ? m.since * 1000 : end - 3600_000;
    const span: ITimeSpan = { start, end, window: d.window };
    this.headNode.replaceChildren(
      el('span', {}, 'Showing '),
      el('strong', {}, d.name),
      el('span', {}, ' version '),
      idNode(d.version_id, shortId(shortVersion(d.version_id, d.name), 32)),
      el('span', { className: 'jp-nb2prod-badge', dataset: { state: d.state } }, d.state),
      el('span', { className: 'jp-nb2prod-reason' }, ` · ${when(start / 1000)} → ${when(end / 1000)} · ${d.points} buckets · server ${d.server_ms.toFixed(0)} ms`)
    );
    const mixed = mixedVersionsNote(d);
    this.mixedNode.textContent = mixed ?? '';
    this.mixedNode.hidden = !mixed;
    this.tilesNode.replaceChildren(
      ...tiles(d).map(t =>
        el(
          'div',
          { className: 'jp-nb2prod-tile', dataset: { tile: t.key, state: t.state }, title: t.title },
          el('span', { className: 'jp-nb2prod-tile-label' }, t.label),
          el('strong', { className: 'jp-nb2prod-tile-value' }, t.value)
        )
      )
    );
    this.charts.forEach(chart => chart.dispose());
    this.charts = [];
    // Charts render once their slots are in the page, so each knows its width (titles wrap to it).
    const pending: (() => Promise<void>)[] = [];
    const chart = (className: string, spec: Record<string, unknown> | null, empty: string): HTMLElement => {
      if (!spec) {
        return el('div', { className: `jp-nb2prod-chart jp-nb2prod-chart-empty ${className}` }, empty);
      }
      const slot = new Chart(className);
      this.charts.push(slot);
      pending.push(() => slot.render(spec));
      return slot.node;
    };
    const sections = [
      this.driftSection(d, span, c, chart),
      this.performanceSection(d, span, c, chart),
      this.fairnessSection(d, c, chart),
      this.operationsSection(d, span, c, chart),
      this.shadowSection(d, c, chart),
      this.alertsSection(d)
    ];
    this.bodyNode.replaceChildren(...sections.filter((node): node is HTMLElement => node !== null));
    await Promise.all(pending.map(render => render()));
    this.node.dataset.drawnWidth = String(this.drawnWidth); // the browser tests wait for a redraw at a new width
  }

  private driftSection(d: IDashboard, span: ITimeSpan, c: IThemeColors, chart: ChartFn): HTMLElement {
    const features = topFeatures(d.drift_series, 8);
    const grid = el(
      'div',
      { className: 'jp-nb2prod-grid' },
      chart(
        'jp-nb2prod-chart-dataset',
        d.monitor.drift_timeline.some(w => w.value !== null) ? datasetDriftTimeSpec(d.monitor.drift_timeline, span, c) : null,
        `Dataset drift: no bucket holds the 30 rows a drift test needs (${d.monitor.n} rows in the window).`
      ),
      ...(d.drift_series.length >= 2
        ? features.map(f => chart('jp-nb2prod-chart-feature', featureTimeSpec(f, d.drift_series, span, c), ''))
        : [el('div', { className: 'jp-nb2prod-chart jp-nb2prod-chart-empty' }, `Drift over time needs two buckets of 30 rows or more; this window has ${d.drift_series.length}.`)])
    );
    return section('Drift over time (top features by effect)', 'jp-nb2prod-dash-drift', grid);
  }

  private performanceSection(d: IDashboard, span: ITimeSpan, c: IThemeColors, chart: ChartFn): HTMLElement {
    const concept = d.monitor.concept;
    const e = d.monitor.estimated;
    const conceptRows = concept?.windows ?? [];
    const estimatedRows = e?.windows ?? [];
    return section(
      'Performance',
      'jp-nb2prod-dash-performance',
      el(
        'div',
        { className: 'jp-nb2prod-grid' },
        chart(
          'jp-nb2prod-chart-concept',
          concept && drawable(conceptRows)
            ? metricTimeSpec({ title: `Live ${concept.metric} (labelled), 95% CI`, metric: concept.metric, windows: conceptRows, validation: concept.validation, count: 'labels' }, span, c)
            : null,
          `Live performance: ${d.judgements['live']?.value ?? 'no labels yet'} — needs feedback labels in two buckets.`
        ),
        chart(
          'jp-nb2prod-chart-estimated',
          e && drawable(estimatedRows)
            ? metricTimeSpec({ title: `Estimated ${e.metric} (no labels), 95% CI`, metric: e.metric, windows: estimatedRows, validation: e.validation, count: 'predictions' }, span, c)
            : null,
          `Estimated performance: ${d.judgements['estimated']?.value ?? '—'}.`
        )
      )
    );
  }

  private fairnessSection(d: IDashboard, c: IThemeColors, chart: ChartFn): HTMLElement | null {
    const f = d.monitor.fairness;
    if (!f) {
      return null;
    }
    const judged = f.attributes.filter(a => a.di_ratio !== null);
    return section(
      'Fairness per group',
      'jp-nb2prod-dash-fairness',
      el(
        'div',
        { className: 'jp-nb2prod-grid' },
        ...f.attributes.map(a => chart('jp-nb2prod-chart-groups', a.groups.length ? groupRatesSpec(a, c) : null, `${a.attribute}: no rows`)),
        chart('jp-nb2prod-chart-fairness', judged.length ? fairnessSpec(f, c) : null, 'Disparate impact: not enough rows per group.')
      )
    );
  }

  private operationsSection(d: IDashboard, span: ITimeSpan, c: IThemeColors, chart: ChartFn): HTMLElement {
    const timeline = d.monitor.operations.timeline;
    return section(
      'Operations',
      'jp-nb2prod-dash-operations',
      el(
        'div',
        { className: 'jp-nb2prod-grid' },
        chart('jp-nb2prod-chart-latency', timeline.some(s => s.latency_p50_ms !== null) ? latencySpec(timeline, span, c) : null, 'Latency: no requests with a recorded latency.'),
        chart('jp-nb2prod-chart-traffic', timeline.length ? trafficSpec(timeline, span, c) : null, 'No requests in the window.')
      )
    );
  }

  private shadowSection(d: IDashboard, c: IThemeColors, chart: ChartFn): HTMLElement | null {
    const s = d.shadow;
    if (!s) {
      return d.traffic.shadow ? section('Shadow comparison', 'jp-nb2prod-dash-shadow', el('p', { className: 'jp-nb2prod-reason' }, 'Shown for the live version.')) : null;
    }
    const candidate = s.candidate_version ?? d.traffic.shadow ?? '';
    const head = el('p', {}, 'live ', idNode(s.live_version ?? '', shortVersion(s.live_version ?? '', d.name)), ' vs shadow ', idNode(candidate, shortVersion(candidate, d.name)));
    if (shadowState(s) === 'empty') {
      return section('Shadow comparison', 'jp-nb2prod-dash-shadow', head, el('p', {}, 'No shadowed requests in this window yet.'));
    }
    const stats = el(
      'div',
      { className: 'jp-nb2prod-stats' },
      ...shadowStats(s).map(st => el('div', { className: `jp-nb2prod-stat${st.flag ? ' jp-mod-warn' : ''}`, dataset: { stat: st.key }, title: st.title ?? '' }, el('span', {}, st.label), el('strong', {}, st.value)))
    );
    return section(
      'Shadow comparison',
      'jp-nb2prod-dash-shadow',
      head,
      stats,
      el(
        'div',
        { className: 'jp-nb2prod-grid' },
        chart('jp-nb2prod-chart-agreement', agreementSpec(s, c), ''),
        chart('jp-nb2prod-chart-flips', Object.keys(s.flip_matrix).length ? flipMatrixSpec(s, c) : null, 'No compared decisions.'),
        chart('jp-nb2prod-chart-scores', s.live_scores.length ? scoreDistributionSpec(s, c) : null, 'No scores to compare.')
      )
    );
  }

  private alertsSection(d: IDashboard): HTMLElement {
    const rows = d.alerts.map(a =>
      el(
        'tr',
        { className: 'jp-nb2prod-alert' },
        el('td', {}, when(a.ts)),
        el('td', {}, a.rule),
        el('td', {}, a.metric),
        el('td', {}, a.value.toPrecision(3)),
        el('td', {}, String(a.threshold)),
        el('td', {}, a.window)
      )
    );
    return section(
      'Alerts',
      'jp-nb2prod-dash-alerts',
      rows.length
        ? el(
            'table',
            { className: 'jp-nb2prod-table' },
            el('thead', {}, el('tr', {}, ...['when', 'rule', 'metric', 'value', 'threshold', 'window'].map(h => el('th', {}, h)))),
            el('tbody', {}, ...rows)
          )
        : el('p', {}, 'No alerts recorded for this deployment.')
    );
  }
}

type ChartFn = (className: string, spec: Record<string, unknown> | null, empty: string) => HTMLElement;
