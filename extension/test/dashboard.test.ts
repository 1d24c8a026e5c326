/** Unit tests of the dashboard's view-model and its honest time charts. */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { IThemeColors } from '../src/chartSpecs';
import { bucketRows, drawable, fitTitle, mixedVersionsNote, shortId, tiles, timeFormat, versionLabel, wrapText } from '../src/dashboardModel';
import { datasetDriftTimeSpec, featureTimeSpec, metricTimeSpec, timeX, trafficSpec } from '../src/dashboardSpecs';
import { shadowState, shadowStats } from '../src/shadowModel';
import type { IDashboard, IDriftResult, IMetricWindow, IShadowComparison } from '../src/tokens';

const colors: IThemeColors = { text: '#111', muted: '#666', grid: '#ddd', accent: '#1976d2', warn: '#d32f2f', font: 'sans-serif' };
const span = { start: 0, end: 86_400_000, window: '1d' };

function win(i: number, n: number, value: number | null): IMetricWindow {
  return { start: i * 3600, end: (i + 1) * 3600, n, value, low: value === null ? null : value - 0.02, high: value === null ? null : value + 0.02 };
}

function dashboard(extra: Partial<IDashboard> = {}): IDashboard {
  const ops = { start: 0, end: 86400, n: 700, version_id: 'credit-v2', throughput_rps: 0.01, latency_p50_ms: 4, latency_p90_ms: 6, latency_p95_ms: 7.25, latency_p99_ms: 9, error_rate: 0, fallback_rate: 0, violation_rate: 0, override_rate: 0 };
  return {
    name: 'credit',
    version_id: 'credit-v2',
    state: 'live',
    window: '1d',
    points: 24,
    traffic: { name: 'credit', live: 'credit-v2', shadow: null, shadow_percent: 0, canary: null, canary_percent: 0, control: null, control_percent: 0, updated_at: 0 },
    versions: [
      { version_id: 'credit-v2', state: 'live', traffic_percent: 100, created_at: '', n: 299 },
      { version_id: 'credit-v1', state: 'retired', traffic_percent: 0, created_at: '', n: 401 }
    ],
    monitor: { name: 'credit', version_id: 'credit-v2', window: '1d', since: 0, until: 86400, n: 700, drift: null, concept: null, estimated: null, fairness: null,
      operations: { name: 'credit', window: '1d', overall: ops, by_version: [], timeline: [] }, business: {}, metrics: {}, drift_timeline: [], checks: [], notes: [], versions: {}, source: 'profiles', elapsed_ms: 5 },
    judgements: {
      live: { metric: 'live', state: 'ok', value: '0.790 [0.760, 0.820] vs validation 0.797', n: 600, reason: 'in line' },
      estimated: { metric: 'estimated', state: 'ok', value: '0.710', n: 700, reason: 'judged by 600 real labels, not by the estimate' },
      errors: { metric: 'errors', state: 'insufficient', value: 'not enough data (n=7)', n: 7, reason: 'fewer than 30 requests' }
    },
    drift_series: [],
    shadow: null,
    alerts: [],
    notes: [],
    server_ms: 42,
    ...extra
  };
}

test('long ids are shortened head…tail, short ones kept whole', () => {
  assert.equal(shortId('credit-v20261123t170102-3f9a1c', 16), 'credit-v…-3f9a1c');
  assert.equal(shortId('credit-v20261123t170102-3f9a1c', 16).length, 16);
  assert.equal(shortId('short'), 'short');
});

test('tiles show this version\'s predictions and take each metric\'s state from the server judgement', () => {
  const byKey = Object.fromEntries(tiles(dashboard()).map(t => [t.key, t]));
  assert.equal(byKey['predictions'].value, '299', 'only the shown version\'s rows');
  assert.match(byKey['predictions'].title, /700 by every version/);
  assert.equal(byKey['estimated'].state, 'ok');
  assert.equal(byKey['errors'].value, 'not enough data (n=7)');
  assert.equal(byKey['errors'].state, 'insufficient');
  assert.equal(byKey['latency'].value, '7.3 ms');
  assert.equal(byKey['alerts'].state, 'ok');
  assert.deepEqual(Object.keys(byKey), ['predictions', 'live', 'estimated', 'errors', 'latency', 'alerts']);
});

test('rows of other versions in the window are said, never mixed in silently', () => {
  const note = mixedVersionsNote(dashboard());
  assert.ok(note && note.startsWith('299 of the window\'s 700 predictions are v2\'s'), note ?? '');
  assert.match(note ?? '', /v1 \(retired, 401\)/);
  assert.equal(mixedVersionsNote(dashboard({ versions: [{ version_id: 'credit-v2', state: 'live', traffic_percent: 100, created_at: '', n: 700 }] })), null);
  assert.equal(versionLabel(dashboard().versions[1], 'credit'), 'v1 · retired · 401 in window');
});

test('small buckets are kept, flagged and labelled with n; a chart needs two valued buckets', () => {
  const rows = bucketRows([win(0, 120, 0.8), win(1, 4, 0.95), win(2, 0, null)]);
  assert.deepEqual(rows.map(r => [r.few, r.label]), [[false, 'n=120'], [true, 'n=4'], [true, 'n=0']]);
  assert.equal(drawable(rows), true);
  assert.equal(drawable(rows.slice(1)), false);
  assert.equal(timeFormat('1d'), '%H:%M');
  assert.equal(timeFormat('7d'), '%b %d %H:%M');
});

test('metric chart: y axis starts where the data is, time axis spans the window, small buckets faded with n labels', () => {
  const spec = metricTimeSpec({ title: 'Live accuracy', metric: 'accuracy', windows: [win(0, 120, 0.8), win(1, 4, 0.95), win(2, 90, 0.79)], validation: 0.797, count: 'labels' }, span, colors) as any;
  const [band, line, points, labels, rule] = spec.layer;
  assert.equal(line.encoding.y.scale.zero, false);
  assert.equal(band.encoding.y.scale.zero, false);
  assert.deepEqual(points.encoding.x.scale.domain, [0, 86_400_000]);
  assert.equal(points.encoding.x.axis.labelOverlap, 'greedy');
  assert.deepEqual(points.encoding.opacity.condition, { test: 'datum.few', value: 0.3 });
  assert.deepEqual(labels.data.values.map((r: any) => r.label), ['n=4']);
  assert.equal(band.data.values.length, 2, 'the band leaves out the small bucket');
  assert.equal(rule.data.values[0].validation, 0.797);
  assert.match(spec.title.subtitle, /faded: fewer than 30 labels/);
});

test('dataset drift: untestable buckets are ticks with "not enough data (n=…)"; feature chart has its threshold', () => {
  const spec = datasetDriftTimeSpec([win(0, 40, 0.2), win(1, 12, null), win(2, 45, 0.5)], span, colors) as any;
  assert.equal(spec.layer[1].data.values.length, 2);
  assert.deepEqual(spec.layer[2].data.values.map((r: any) => r.reason), ['not enough data (n=12)']);
  const result = (until: number, effect: number): IDriftResult => ({
    name: 'credit', version_id: 'v', window: '1d', n_reference: 1000, n_current: 40, score: 0, detected: false, alpha: 0.05, min_effect: 0.1, since: until - 3600, until, elapsed_ms: 1,
    features: [{ feature: 'income', kind: 'numeric', test: 'ks', statistic: effect, p_value: 0.01, q_value: 0.02, effect_name: 'wasserstein', effect, psi: 0, drifted: effect > 0.1, n_reference: 1000, n_current: 40, missing_reference: 0, missing_current: 0, unseen: [] }]
  });
  const feature = featureTimeSpec('income', [result(3600, 0.05), result(7200, 0.3)], span, colors) as any;
  assert.equal(feature.layer[0].data.values.length, 2);
  assert.equal(feature.layer[2].data.values[0].threshold, 0.1);
  assert.equal(feature.layer[0].encoding.y.scale.zero, false);
  assert.equal(timeX(span).title, null);
  // the effect size is named in words on the axis, never its identifier
  const named = (r: IDriftResult): IDriftResult => ({ ...r, features: r.features.map(f => ({ ...f, effect_name: 'wasserstein_norm' })) });
  const worded = featureTimeSpec('income', [named(result(3600, 0.05))], span, colors) as any;
  assert.equal(worded.layer[0].encoding.y.title, 'Wasserstein (normed)');
});

test('shadow: timeouts shown apart from errors and completeness as compared / shadowed', () => {
  const c = {
    name: 'credit', live_version: 'a', candidate_version: 'b', overall: { n: 90, agreement: 0.9, low: 0.82, high: 0.95 }, flip_matrix: {}, score_mean_abs_diff: null,
    score_ks_statistic: null, score_ks_p_value: null, live_scores: [], candidate_scores: [], segments: {}, labelled: { n: 0, live_accuracy: null, candidate_accuracy: null, live_only: 0, candidate_only: 0, p_value: null },
    candidate_errors: 2, since: null, until: null, candidate_timeouts: 8, shadowed: 100, completeness: 0.9
  } as IShadowComparison;
  const byKey = Object.fromEntries(shadowStats(c).map(s => [s.key, s]));
  assert.equal(byKey['errors'].value, '2 (2.0%)');
  assert.equal(byKey['timeouts'].value, '8 (8.0%)');
  assert.equal(byKey['completeness'].value, '90 / 100 (90.0%)');
  assert.equal(byKey['completeness'].flag, true);
  assert.equal(byKey['requests'].value, '90', 'timeouts are not compared rows');
  assert.equal(shadowState({ ...c, overall: { n: 0, agreement: null, low: null, high: null }, candidate_errors: 0 }), 'ready', 'only timeouts is still worth showing');
});

test('titles wrap to the chart width instead of running past it', () => {
  assert.deepEqual(wrapText('share of features drifted per bucket · ticks: too few rows to test', 24), ['share of features', 'drifted per bucket ·', 'ticks: too few rows to', 'test']);
  const spec: any = fitTitle({ title: { text: 'Dataset drift', subtitle: 'share of features drifted per bucket · ticks: too few rows to test' } }, 200);
  assert.ok(spec.title.subtitle.every((line: string) => line.length <= Math.floor(200 / 5.6)));
  assert.deepEqual(fitTitle({ mark: 'bar' }, 200), { mark: 'bar' });
});

test('throughput bars span their bucket from zero; the rate axis starts at 0 with room for 5%', () => {
  const stats = (i: number, n: number) => ({ start: i * 3600, end: (i + 1) * 3600, n, version_id: null, throughput_rps: n / 3600, latency_p50_ms: 4, latency_p90_ms: 5, latency_p95_ms: 6, latency_p99_ms: 9, error_rate: 0, fallback_rate: 0, violation_rate: 0, override_rate: 0 });
  const spec = trafficSpec([stats(0, 40), stats(1, 60)], span, colors) as any;
  const [bars, rates] = spec.layer;
  assert.deepEqual([bars.encoding.x.field, bars.encoding.x2.field, bars.encoding.y2.datum], ['start', 'end', 0]);
  assert.deepEqual(bars.data.values.map((r: any) => [r.start, r.end]), [[0, 3_600_000], [3_600_000, 7_200_000]]);
  assert.deepEqual(rates.encoding.y.scale.domain, [0, 0.05]);
});
