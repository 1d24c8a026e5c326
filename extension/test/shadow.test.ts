/** Unit tests of the Shadow panel's view-model and chart specifications, and of the approval view-model. */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { IThemeColors } from '../src/chartSpecs';
import { gateEvidenceLines, gateReasons, gateVerdict, latestGate, pendingApproval } from '../src/deploymentsModel';
import { agreementText, flipCells, flips, labelledSummary, segmentRows, shadowState, shadowStats } from '../src/shadowModel';
import { agreementSpec, flipMatrixSpec, scoreDistributionSpec, segmentAgreementSpec } from '../src/shadowSpecs';
import type { IDeploymentStatus, IRegistryEvent, IShadowComparison, IVersionStatus, VersionState } from '../src/tokens';

const colors: IThemeColors = { text: '#111', muted: '#555', grid: '#ddd', accent: '#06c', warn: '#c00', font: 'sans-serif' };

type Layered = { layer: { data?: { values: Record<string, unknown>[] }; mark: { type: string }; encoding: Record<string, Record<string, unknown>> }[] };

function comparison(extra: Partial<IShadowComparison> = {}): IShadowComparison {
  return {
    name: 'credit',
    live_version: 'credit-v1',
    candidate_version: 'credit-v2',
    overall: { n: 200, agreement: 0.875, low: 0.822, high: 0.914 },
    flip_matrix: { '0': { '0': 120, '1': 15 }, '1': { '1': 55, '0': 10 } },
    score_mean_abs_diff: 0.0412,
    score_ks_statistic: 0.12,
    score_ks_p_value: 0.0004,
    live_scores: [0.1, 0.2, 0.8],
    candidate_scores: [0.15, 0.3, 0.9],
    segments: {
      gender: { male: { n: 104, agreement: 0.9, low: 0.83, high: 0.94 }, female: { n: 96, agreement: 0.85, low: 0.77, high: 0.91 } },
      region: { north: { n: 0, agreement: null, low: null, high: null } }
    },
    labelled: { n: 100, live_accuracy: 0.7, candidate_accuracy: 0.82, live_only: 3, candidate_only: 15, p_value: 0.0075 },
    candidate_errors: 2,
    since: 1000,
    until: 2000,
    candidate_timeouts: 0,
    shadowed: 202,
    completeness: 0.99,
    ...extra
  };
}

test('the flip matrix lists every decision pair, zeros included, diagonal = agreement', () => {
  const cells = flipCells(comparison({ flip_matrix: { '1': { '0': 4 }, '0': { '0': 6 } } }));
  assert.deepEqual(cells.map(c => [c.live, c.candidate, c.count, c.agree]), [
    ['0', '0', 6, true],
    ['0', '1', 0, false],
    ['1', '0', 4, false],
    ['1', '1', 0, true]
  ]);
  assert.equal(cells[0].share, 0.6);
  assert.equal(flips(comparison()), 25);
});

test('segment rows skip values without compared requests and sort by column then value', () => {
  assert.deepEqual(segmentRows(comparison()).map(r => [r.label, r.n, r.agreement, r.low, r.high]), [
    ['gender = female', 96, 0.85, 0.77, 0.91],
    ['gender = male', 104, 0.9, 0.83, 0.94]
  ]);
});

test('headline numbers: agreement with CI, errors, and the labelled comparison only when labels exist', () => {
  const stats = shadowStats(comparison(), 0.95);
  const byKey = Object.fromEntries(stats.map(s => [s.key, s]));
  assert.equal(byKey['agreement'].value, '87.5% [82.2%, 91.4%]');
  assert.equal(byKey['agreement'].flag, true, 'below the gate minimum');
  assert.equal(byKey['flips'].value, '25');
  assert.equal(byKey['errors'].value, '2 (1.0%)');
  assert.equal(byKey['ks'].value, '0.120 (p 4.0e-4)');
  assert.equal(byKey['mcnemar'].value, '0.007');
  assert.equal(byKey['candidate-accuracy'].value, '82.0%');
  const unlabelled = shadowStats(comparison({ labelled: { n: 0, live_accuracy: null, candidate_accuracy: null, live_only: 0, candidate_only: 0, p_value: null } }));
  assert.ok(!unlabelled.some(s => s.key === 'mcnemar' || s.key === 'live-accuracy'));
  assert.equal(shadowStats(comparison(), null)[0].flag, false);
  assert.match(labelledSummary(comparison()), /candidate 82\.0% vs live 70\.0%.*candidate is right more often \(significant at 5%\)/);
  assert.match(labelledSummary(comparison({ labelled: { n: 0, live_accuracy: null, candidate_accuracy: null, live_only: 0, candidate_only: 0, p_value: null } })), /No feedback labels/);
});

test('a window without shadowed requests is the empty state', () => {
  const none = comparison({ overall: { n: 0, agreement: null, low: null, high: null }, candidate_errors: 0, flip_matrix: {}, live_scores: [], candidate_scores: [] });
  assert.equal(shadowState(none), 'empty');
  assert.equal(shadowState(comparison()), 'ready');
  assert.equal(shadowState({ ...none, candidate_errors: 3 }), 'ready', 'a candidate that only failed is worth showing');
  assert.equal(agreementText(none.overall), '—');
});

test('the agreement chart is a point with its CI and the gate limit as a rule', () => {
  const spec = agreementSpec(comparison(), colors, 0.95) as unknown as Layered;
  assert.deepEqual(spec.layer.map(l => l.mark.type), ['errorbar', 'point', 'rule']);
  assert.deepEqual(spec.layer[1].data?.values, [{ label: 'all requests', agreement: 0.875, low: 0.822, high: 0.914, n: 200 }]);
  assert.deepEqual(spec.layer[2].data?.values, [{ limit: 0.95 }]);
  assert.deepEqual(spec.layer[1].encoding['x']['scale'], { domain: [0.75, 1] });
  assert.equal((agreementSpec(comparison(), colors) as unknown as Layered).layer.length, 2);
});

test('the flip matrix heatmap labels each cell with its count', () => {
  const spec = flipMatrixSpec(comparison(), colors) as unknown as Layered & { data: { values: Record<string, unknown>[] } };
  assert.deepEqual(spec.layer.map(l => l.mark.type), ['rect', 'text']);
  assert.deepEqual(spec.data.values.map(r => [r.live, r.candidate, r.count, r.dark]), [
    ['0', '0', 120, true],
    ['0', '1', 15, false],
    ['1', '0', 10, false],
    ['1', '1', 55, false]
  ]);
  assert.deepEqual(spec.layer[1].encoding['text'], { field: 'count', type: 'quantitative' });
});

test('score histograms overlay both models, binned on [0, 1] for probabilities', () => {
  const spec = scoreDistributionSpec(comparison(), colors) as { data: { values: { model: string; score: number }[] }; encoding: { x: { bin: unknown }; y: { stack: unknown } } };
  assert.deepEqual(spec.data.values.filter(r => r.model === 'candidate').map(r => r.score), [0.15, 0.3, 0.9]);
  assert.deepEqual(spec.encoding.x.bin, { extent: [0, 1], step: 0.05 });
  assert.equal(spec.encoding.y.stack, null);
  const raw = scoreDistributionSpec(comparison({ live_scores: [-3, 4], candidate_scores: [2] }), colors) as { encoding: { x: { bin: unknown } } };
  assert.deepEqual(raw.encoding.x.bin, { maxbins: 24 });
});

test('the segment chart has one row per segment value with its CI', () => {
  const spec = segmentAgreementSpec(comparison(), colors, 0.95) as unknown as Layered;
  assert.deepEqual(spec.layer[1].data?.values.map(r => [r.label, r.low, r.high]), [['gender = female', 0.77, 0.91], ['gender = male', 0.83, 0.94]]);
  assert.equal(spec.layer[2].mark.type, 'rule');
});

function version(id: string, state: VersionState): IVersionStatus {
  return {
    record: { version_id: id, name: 'credit', created_at: '', model_hash: 'h', data_fingerprint: {}, code_fingerprint: {}, environment: {}, schema: {}, metrics: {}, lint: {}, parent: null, bento_tag: null, model_tag: null, deployment_dir: null, params: {}, extra: {} },
    state,
    traffic_percent: 0,
    actions: []
  };
}

function gate(versionId: string, verdict: string, ts: number): IRegistryEvent {
  return {
    name: 'credit', action: 'gate', version_id: versionId, actor: 'ana', ts, id: null,
    reason: `shadow gate: ${verdict} — candidate disagrees on 12.5% of requests (limit 5.0%); but on 100 labelled requests the candidate is significantly more accurate (82.0% vs 70.0%, McNemar p=0.0075): a human must approve`,
    evidence: {
      verdict, shadowed: 202, agreement: 0.875, agreement_ci: [0.822, 0.914], candidate_errors: 2,
      labelled: { n: 100, live_accuracy: 0.7, candidate_accuracy: 0.82, live_only: 3, candidate_only: 15, p_value: 0.0075 },
      policy: { max_divergence: 0.05 }
    }
  };
}

function status(events: IRegistryEvent[], shadowState: VersionState = 'shadow'): IDeploymentStatus {
  return {
    name: 'credit',
    traffic: { name: 'credit', live: 'credit-v1', shadow: 'credit-v2', shadow_percent: 100, canary: null, canary_percent: 0, control: null, control_percent: 0, updated_at: 0 },
    versions: [version('credit-v2', shadowState), version('credit-v1', 'live')],
    events,
    retrain: null,
    rollback_stops: null,
    rollback_target: null
  };
}

test('approval is pending only for a shadow version whose latest gate said needs_approval', () => {
  const pending = pendingApproval(status([gate('credit-v2', 'needs_approval', 20), gate('credit-v2', 'blocked', 10)]));
  assert.ok(pending);
  assert.equal(pending.version.record.version_id, 'credit-v2');
  assert.deepEqual(pending.reasons, [
    'candidate disagrees on 12.5% of requests (limit 5.0%)',
    'but on 100 labelled requests the candidate is significantly more accurate (82.0% vs 70.0%, McNemar p=0.0075): a human must approve'
  ]);
  assert.deepEqual(pending.evidence, [
    'shadowed requests: 202',
    'agreement: 87.5% (95% CI 82.2%–91.4%)',
    'labelled: candidate 82.0% vs live 70.0% accurate on 100 (only candidate right 15, only live right 3, McNemar p=0.007)',
    'candidate errors: 2'
  ]);
  assert.equal(pendingApproval(status([gate('credit-v2', 'blocked', 30), gate('credit-v2', 'needs_approval', 20)])), null, 'a newer blocked gate wins');
  assert.equal(pendingApproval(status([gate('credit-v2', 'needs_approval', 20)], 'candidate')), null, 'not in shadow');
  assert.equal(pendingApproval(status([gate('credit-v9', 'needs_approval', 20)])), null, 'another version');
  assert.equal(pendingApproval(status([])), null);
  assert.equal(latestGate(status([gate('credit-v2', 'pass', 1)]), 'credit-v2')?.ts, 1);
  assert.equal(gateVerdict({ ...gate('credit-v2', 'pass', 1), evidence: {} }), null);
  assert.deepEqual(gateReasons({ ...gate('credit-v2', 'pass', 1), reason: 'no dash here' }), ['no dash here']);
  assert.deepEqual(gateEvidenceLines({ ...gate('credit-v2', 'pass', 1), evidence: {} }), []);
});
