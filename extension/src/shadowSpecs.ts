/**
 * Vega-Lite specifications for the Shadow panel, built from `ShadowComparison` JSON (pure: no DOM).
 * Colours come from the JupyterLab theme through `themeConfig`, so dark mode works.
 */
import { IThemeColors, Spec, themeConfig } from './chartSpecs';
import { flipCells, segmentRows } from './shadowModel';
import type { IShadowComparison } from './tokens';

function base(title: string, subtitle: string, c: IThemeColors): Spec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle, subtitleColor: c.muted },
    width: 'container',
    autosize: { type: 'fit-x', contains: 'padding' },
    config: themeConfig(c)
  };
}

/** The agreement axis: from a little below the lowest interval to 1. */
function agreementScale(lows: number[], minAgreement: number | null): Spec {
  const lowest = Math.min(...lows, minAgreement ?? 1, 1);
  return { domain: [Math.max(0, Math.floor((lowest - 0.05) * 20) / 20), 1] };
}

function limitLayer(minAgreement: number | null, c: IThemeColors): Spec[] {
  return minAgreement === null
    ? []
    : [
        {
          data: { values: [{ limit: minAgreement }] },
          mark: { type: 'rule', strokeDash: [5, 4], color: c.warn },
          encoding: { x: { field: 'limit', type: 'quantitative' }, tooltip: [{ field: 'limit', format: '.1%', title: 'gate limit' }] }
        }
      ];
}

/** Overall agreement as a point with its 95% Wilson interval; the gate's limit as a dashed rule. */
export function agreementSpec(comparison: IShadowComparison, c: IThemeColors, minAgreement: number | null = null): Spec {
  const o = comparison.overall;
  const rows = o.agreement === null ? [] : [{ label: 'all requests', agreement: o.agreement, low: o.low ?? o.agreement, high: o.high ?? o.agreement, n: o.n }];
  const x = { field: 'agreement', type: 'quantitative', title: 'agreement', axis: { format: '%' }, scale: agreementScale(rows.map(r => r.low), minAgreement) };
  const y = { field: 'label', type: 'nominal', title: null };
  return {
    ...base('Agreement, 95% CI', minAgreement === null ? 'share of requests both models decided the same' : 'dashed: the gate\'s minimum agreement', c),
    height: 30,
    layer: [
      {
        data: { values: rows },
        mark: { type: 'errorbar', ticks: true, color: c.muted },
        encoding: { y, x: { ...x, field: 'low' }, x2: { field: 'high' } }
      },
      {
        data: { values: rows },
        mark: { type: 'point', filled: true, size: 90, color: c.accent },
        encoding: {
          y,
          x,
          tooltip: [{ field: 'agreement', format: '.1%' }, { field: 'low', format: '.1%', title: 'CI low' }, { field: 'high', format: '.1%', title: 'CI high' }, { field: 'n', title: 'requests' }]
        }
      },
      ...limitLayer(minAgreement, c)
    ]
  };
}

/** The flip matrix as a heatmap: live decision (rows) × candidate decision (columns), each cell labelled with its count. */
export function flipMatrixSpec(comparison: IShadowComparison, c: IThemeColors): Spec {
  const cells = flipCells(comparison);
  const max = Math.max(1, ...cells.map(cell => cell.count));
  const rows = cells.map(cell => ({ ...cell, dark: cell.count / max > 0.5 }));
  const x = { field: 'candidate', type: 'ordinal', title: 'candidate decision', axis: { labelAngle: 0, orient: 'top' } };
  const y = { field: 'live', type: 'ordinal', title: 'live decision' };
  return {
    ...base('Flip matrix', 'requests per live × candidate decision; off the diagonal the models disagree', c),
    height: 46 * Math.max(1, new Set(cells.map(cell => cell.live)).size),
    data: { values: rows },
    encoding: { x, y },
    layer: [
      {
        mark: { type: 'rect', stroke: c.grid, strokeWidth: 1 },
        encoding: {
          color: { field: 'count', type: 'quantitative', title: 'requests', scale: { scheme: 'blues', domain: [0, max] }, legend: null },
          tooltip: [
            { field: 'live', title: 'live' },
            { field: 'candidate', title: 'candidate' },
            { field: 'count', title: 'requests' },
            { field: 'share', format: '.1%', title: 'share' }
          ]
        }
      },
      {
        mark: { type: 'text', fontSize: 13, fontWeight: 'bold' },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.dark', value: '#ffffff' }, value: '#1a1a1a' }
        }
      }
    ]
  };
}

/** Score distributions of the live and candidate models on the same requests, overlaid histograms. */
export function scoreDistributionSpec(comparison: IShadowComparison, c: IThemeColors): Spec {
  const rows = [
    ...comparison.live_scores.map(score => ({ model: 'live', score })),
    ...comparison.candidate_scores.map(score => ({ model: 'candidate', score }))
  ];
  const scores = rows.map(r => r.score);
  const inUnit = scores.length > 0 && Math.min(...scores) >= 0 && Math.max(...scores) <= 1;
  const bin = inUnit ? { extent: [0, 1], step: 0.05 } : { maxbins: 24 };
  return {
    ...base('Score distributions', 'live vs candidate on the same requests', c),
    height: 110,
    data: { values: rows },
    mark: { type: 'bar', opacity: 0.55, binSpacing: 0 },
    encoding: {
      x: { field: 'score', type: 'quantitative', bin, title: 'score' },
      y: { aggregate: 'count', type: 'quantitative', title: 'requests', stack: null },
      color: { field: 'model', type: 'nominal', title: null, scale: { domain: ['live', 'candidate'], range: [c.accent, c.warn] } },
      tooltip: [{ field: 'model' }, { bin, field: 'score', title: 'score' }, { aggregate: 'count', title: 'requests' }]
    }
  };
}

/** Agreement per segment value (e.g. per protected group) with its 95% CI; the gate's limit as a dashed rule. */
export function segmentAgreementSpec(comparison: IShadowComparison, c: IThemeColors, minAgreement: number | null = null): Spec {
  const rows = segmentRows(comparison);
  const x = { field: 'agreement', type: 'quantitative', title: 'agreement', axis: { format: '%' }, scale: agreementScale(rows.map(r => r.low), minAgreement) };
  const y = { field: 'label', type: 'nominal', title: null, sort: null };
  return {
    ...base('Agreement per segment, 95% CI', 'does the candidate change decisions for one group more than another?', c),
    height: 24 * Math.max(rows.length, 1),
    layer: [
      {
        data: { values: rows },
        mark: { type: 'errorbar', ticks: true, color: c.muted },
        encoding: { y, x: { ...x, field: 'low' }, x2: { field: 'high' } }
      },
      {
        data: { values: rows },
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          y,
          x,
          color: { field: 'column', type: 'nominal', title: null, legend: null },
          tooltip: [
            { field: 'column', title: 'segment' },
            { field: 'value' },
            { field: 'agreement', format: '.1%' },
            { field: 'low', format: '.1%', title: 'CI low' },
            { field: 'high', format: '.1%', title: 'CI high' },
            { field: 'n', title: 'requests' }
          ]
        }
      },
      ...limitLayer(minAgreement, c)
    ]
  };
}
