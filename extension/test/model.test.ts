/** Unit tests of the panels' view-models and chart specifications. */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { fairnessSpec, IThemeColors, topFeatures } from '../src/chartSpecs';
import { metricTimeSpec } from '../src/dashboardSpecs';
import { allowedActions, gateLines, rollbackLabel, shortVersion, trafficSlices } from '../src/deploymentsModel';
import { cellTarget, groupBySeverity, location, summary } from '../src/lintModel';
import type { IDeploymentStatus, IDriftResult, IEstimatedPerformance, IFinding, IRegistryEvent, IVersionStatus, VersionState } from '../src/tokens';

function finding(severity: IFinding['severity'], cell: number | null, extra: Partial<IFinding> = {}): IFinding {
  return { rule: 'R1', severity, message: 'm', path: 'nb.ipynb', cell_index: cell, cell_id: null, line: null, fix: null, evidence: null, ...extra };
}

test('findings are grouped worst first, in cell order, empty groups left out', () => {
  const groups = groupBySeverity([finding('info', 1), finding('error', 5), finding('error', 2), finding('info', 0)]);
  assert.deepEqual(groups.map(g => g.severity), ['error', 'info']);
  assert.deepEqual(groups[0].findings.map(f => f.cell_index), [2, 5]);
  assert.equal(summary({ path: 'x', findings: [finding('error', 1), finding('warning', 1), finding('warning', 2)], executed: true }), '1 error, 2 warnings (re-executed)');
  assert.equal(summary({ path: 'x', findings: [], executed: false }), 'no findings');
});

test('a finding locates its cell by id first, then by index', () => {
  assert.equal(location(finding('error', 2, { line: 3 })), 'cell 3, line 3');
  assert.equal(location(finding('error', null)), 'notebook');
  const ids = ['a', 'b', 'c'];
  assert.equal(cellTarget(finding('error', 0, { cell_id: 'c' }), ids), 2);
  assert.equal(cellTarget(finding('error', 1, { cell_id: 'gone' }), ids), 1);
  assert.equal(cellTarget(finding('error', 7), ids), -1);
  assert.equal(cellTarget(finding('error', null), ids), -1);
});

function version(id: string, state: VersionState): IVersionStatus {
  return {
    record: { version_id: id, name: 'credit', created_at: '', model_hash: 'h', data_fingerprint: {}, code_fingerprint: {}, environment: {}, schema: {}, metrics: { roc_auc: 0.81234 }, lint: {}, parent: null, bento_tag: null, model_tag: null, deployment_dir: null, params: {}, extra: {} },
    state,
    traffic_percent: 0,
    actions: []
  };
}

function event(action: string, versionId: string, evidence: Record<string, unknown> = {}): IRegistryEvent {
  return { name: 'credit', action, version_id: versionId, actor: 'ana', reason: '', evidence, ts: 0, id: null };
}

function deployment(traffic: Partial<IDeploymentStatus['traffic']>, events: IRegistryEvent[] = []): IDeploymentStatus {
  return {
    name: 'credit',
    traffic: { name: 'credit', live: null, shadow: null, shadow_percent: 100, canary: null, canary_percent: 0, control: null, control_percent: 0, updated_at: 0, ...traffic },
    versions: [],
    events,
    retrain: null,
    rollback_stops: null,
    rollback_target: null
  };
}

test('traffic slices: the shares the server reports for the live, canary and control versions', () => {
  const d = deployment({ live: 'credit-v1', canary: 'credit-v2', canary_percent: 10 });
  d.versions = [{ ...version('credit-v2', 'canary'), traffic_percent: 10 }, { ...version('credit-v1', 'live'), traffic_percent: 90 }];
  const slices = trafficSlices(d);
  assert.deepEqual(slices.map(s => [s.role, s.version, s.percent]), [['live', 'credit-v1', 90], ['canary', 'credit-v2', 10]]);
  assert.deepEqual(trafficSlices(deployment({})), []);
  assert.equal(shortVersion('credit-v1', 'credit'), 'v1');
});

test('actions: the server decides; the panel offers the ones it has buttons for', () => {
  assert.deepEqual(allowedActions(version('credit-v2', 'live')), []);
  assert.deepEqual(allowedActions({ ...version('credit-v1', 'retired'), actions: ['rollback', 'control'] }), ['rollback']);
  assert.deepEqual(allowedActions({ ...version('credit-v4', 'candidate'), actions: ['promote', 'canary', 'shadow', 'control'] }), ['promote', 'canary']);
});

test('rollback: what the server says a rollback does now', () => {
  const d = deployment({ live: 'credit-v2', canary: 'credit-v3', canary_percent: 5 });
  assert.equal(rollbackLabel({ ...d, rollback_stops: 'credit-v3' }), 'stop the canary v3');
  const c = deployment({ live: 'credit-v2', control: 'credit-v1', control_percent: 20 });
  assert.equal(rollbackLabel({ ...c, rollback_stops: 'credit-v1' }), 'stop the control group v1');
  assert.equal(rollbackLabel({ ...deployment({ live: 'credit-v2' }), rollback_target: 'credit-v1' }), 'make v1 live again');
  assert.equal(rollbackLabel(deployment({ live: 'credit-v1' }, [event('deploy', 'credit-v1')])), null);
});

test('gate lines show each check and its verdict', () => {
  const lines = gateLines(
    event('deploy', 'credit-v1', {
      gate: [
        { check: 'threshold', metric: 'roc_auc', value: 0.8123, limit: 0.7, passed: true },
        { check: 'vs_live', metric: 'roc_auc', value: 0.7, live: 0.81, passed: false }
      ]
    })
  );
  assert.deepEqual(lines, ['threshold roc_auc 0.8123 vs limit 0.7: passed', 'vs_live roc_auc 0.7 vs live 0.81: FAILED']);
  assert.deepEqual(gateLines(event('promote', 'credit-v1')), []);
});

const colors: IThemeColors = { text: '#111', muted: '#555', grid: '#ddd', accent: '#06c', warn: '#c00', font: 'sans-serif' };

function drift(until: number, effect: number): IDriftResult {
  return {
    name: 'credit', version_id: 'v1', window: '1d', n_reference: 100, n_current: 50, score: 0.5, detected: true, alpha: 0.05, min_effect: 0.1, since: until - 60, until, elapsed_ms: 1,
    features: [{ feature: 'income', kind: 'numeric', test: 'ks', statistic: 0.3, p_value: 0.001, q_value: 0.002, effect_name: 'wasserstein', effect, psi: 0.2, drifted: effect >= 0.1, n_reference: 100, n_current: 50, missing_reference: 0, missing_current: 0, unseen: [] }]
  };
}

test('the dashboard keeps the features that drift most', () => {
  const a = drift(1000, 0.05);
  const b = { ...drift(2000, 0.3), features: [...drift(2000, 0.3).features, { ...drift(2000, 0.2).features[0], feature: 'age' }] };
  assert.deepEqual(topFeatures([a, b], 1), ['income']);
  assert.deepEqual(topFeatures([a, b], 5), ['income', 'age']);
});

test('fairness chart carries the confidence bands and the four-fifths line', () => {
  const fairness = fairnessSpec(
    { name: 'c', window: '1d', favorable: 0, n: 100, attributes: [{ attribute: 'gender', groups: [], di_ratio: 0.7, di_low: 0.6, di_high: 0.85, verdict: 'adverse_impact', min_group_size: 30, timeline: [] }] },
    colors
  ) as { layer: { data: { values: Record<string, unknown>[] } }[] };
  assert.deepEqual(fairness.layer[0].data.values, [{ attribute: 'gender', ratio: 0.7, low: 0.6, high: 0.85, verdict: 'adverse_impact' }]);
  assert.deepEqual(fairness.layer[2].data.values, [{ x: 0.8 }]);
});

function estimated(extra: Partial<IEstimatedPerformance> = {}): IEstimatedPerformance {
  return {
    name: 'credit', version_id: 'v1', validation: 0.8, estimated: 0.765, low: 0.747, high: 0.782, n: 900, score: 0.02, degraded: true, verdict: 'degraded',
    precision: 0.7, recall: 0.6, f1: 0.65, roc_auc: 0.8, metric: 'accuracy', window: '1d',
    windows: [{ start: 0, end: 10, n: 450, value: 0.79, low: 0.76, high: 0.82 }, { start: 10, end: 20, n: 3, value: null, low: null, high: null }, { start: 20, end: 30, n: 450, value: 0.74, low: 0.71, high: 0.77 }],
    ...extra
  };
}

type Layered = { title: { text: string; subtitle: string }; layer: { data: { values: Record<string, unknown>[] }; mark: { type: string }; encoding: Record<string, Record<string, unknown> | Record<string, unknown>[]> }[] };

const span = { start: 0, end: 30_000, window: '1h' };

test('the estimated accuracy chart draws the windows with an estimate, their band and the validation line', () => {
  const e = estimated();
  const spec = metricTimeSpec({ title: 'Estimated accuracy (no labels), 95% CI', metric: e.metric, windows: e.windows, validation: e.validation, count: 'predictions' }, span, colors) as unknown as Layered;
  assert.equal(spec.title.text, 'Estimated accuracy (no labels), 95% CI');
  assert.deepEqual(spec.layer.map(l => l.mark.type), ['area', 'line', 'point', 'rule']);
  assert.deepEqual(spec.layer[0].data.values.map(r => [r.time, r.value, r.low, r.high, r.n]), [[5_000, 0.79, 0.76, 0.82, 450], [25_000, 0.74, 0.71, 0.77, 450]]);
  assert.deepEqual(spec.layer[3].data.values, [{ validation: 0.8 }]);
  const tooltip = spec.layer[2].encoding.tooltip as Record<string, unknown>[];
  assert.deepEqual(tooltip.map(t => t.title), ['bucket middle', 'accuracy', 'CI low', 'CI high', 'predictions']);
});

test('without a validation metric the chart has no reference line', () => {
  const e = estimated({ validation: null });
  const spec = metricTimeSpec({ title: 't', metric: e.metric, windows: e.windows, validation: null, count: 'predictions' }, span, colors) as unknown as Layered;
  assert.deepEqual(spec.layer.map(l => l.mark.type), ['area', 'line', 'point']);
});
