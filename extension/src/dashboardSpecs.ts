/**
 * Vega-Lite specifications of the dashboard's time charts (pure: no DOM). Every time chart has a
 * time axis spanning the window, a y axis starting where the data is, and draws buckets with too
 * few rows faded with their n, so a spike from a handful of rows does not read like the rest.
 */
import { EFFECT_WORDS, IThemeColors, Spec, themeConfig } from './chartSpecs';
import { bucketRows, IBucketRow, MIN_ROWS, timeFormat } from './dashboardModel';
import type { IDriftResult, IFairnessAttribute, IMetricWindow, IOpsStats } from './tokens';

/** The time span of the window in ms, so every time chart's axis covers the same period. */
export interface ITimeSpan {
  start: number;
  end: number;
  window: string;
}

function base(title: string, subtitle: string, height: number, c: IThemeColors): Spec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle, subtitleColor: c.muted, subtitlePadding: 2, offset: 6 },
    width: 'container',
    height,
    autosize: { type: 'fit-x', contains: 'padding' },
    config: { ...themeConfig(c), axisY: { labelLimit: 90, titleLimit: 120 } }
  };
}

/** The shared time axis: labels never overlap, the domain is the whole window. */
export function timeX(span: ITimeSpan): Spec {
  return {
    field: 'time',
    type: 'temporal',
    title: null,
    scale: { domain: [span.start, span.end] },
    axis: { format: timeFormat(span.window), labelOverlap: 'greedy', labelSeparation: 8, tickCount: 6, grid: false }
  };
}

const faded = { condition: { test: 'datum.few', value: 0.3 }, value: 1 };

/** Label the small buckets with their n only when there are few of them (more labels would collide). */
function nLabels(rows: IBucketRow[], y: Spec, span: ITimeSpan, c: IThemeColors): Spec[] {
  const small = rows.filter(r => r.few && r.value !== null);
  if (!small.length || small.length > 6) {
    return [];
  }
  return [
    {
      data: { values: small },
      mark: { type: 'text', dy: -9, fontSize: 9, color: c.muted },
      encoding: { x: timeX(span), y, text: { field: 'label' } }
    }
  ];
}

export interface IMetricTimeOptions {
  title: string;
  metric: string;
  windows: readonly IMetricWindow[];
  validation: number | null;
  /** Tooltip name of a bucket's row count. */
  count: string;
  /** The validation line's name in the subtitle. */
  reference?: string;
  format?: string;
}

/** A metric per bucket with its 95% band, small buckets faded and labelled with n, the validation value as a dashed rule. */
export function metricTimeSpec(o: IMetricTimeOptions, span: ITimeSpan, c: IThemeColors): Spec {
  const rows = bucketRows(o.windows).filter(r => r.value !== null);
  const solid = rows.filter(r => !r.few);
  const y = { field: 'value', type: 'quantitative', title: o.metric, scale: { zero: false, nice: true }, axis: { format: o.format ?? '.2f', tickCount: 5 } };
  const fewCount = rows.filter(r => r.few).length;
  const subtitle = [
    o.validation !== null ? `dashed: ${o.reference ?? 'validation'} ${o.validation.toFixed(3)}` : '',
    fewCount ? `faded: fewer than ${MIN_ROWS} ${o.count}` : ''
  ]
    .filter(Boolean)
    .join(' · ');
  const layers: Spec[] = [
    {
      data: { values: solid },
      mark: { type: 'area', opacity: 0.2, color: c.accent },
      encoding: { x: timeX(span), y: { field: 'low', type: 'quantitative', scale: { zero: false } }, y2: { field: 'high' } }
    },
    {
      data: { values: rows },
      mark: { type: 'line', color: c.accent, strokeWidth: 1.5 },
      encoding: { x: timeX(span), y }
    },
    {
      data: { values: rows },
      mark: { type: 'point', filled: true, size: 28, color: c.accent },
      encoding: {
        x: timeX(span),
        y,
        opacity: faded,
        tooltip: [
          { field: 'time', type: 'temporal', format: '%Y-%m-%d %H:%M', title: 'bucket middle' },
          { field: 'value', format: '.3f', title: o.metric },
          { field: 'low', format: '.3f', title: 'CI low' },
          { field: 'high', format: '.3f', title: 'CI high' },
          { field: 'n', title: o.count }
        ]
      }
    },
    ...nLabels(rows, y, span, c)
  ];
  if (o.validation !== null) {
    layers.push({
      data: { values: [{ validation: o.validation }] },
      mark: { type: 'rule', strokeDash: [5, 4], color: c.warn },
      encoding: { y: { field: 'validation', type: 'quantitative' } }
    });
  }
  return { ...base(o.title, subtitle, 130, c), layer: layers };
}

/** One feature's drift effect per bucket against the threshold (dashed); drifted buckets in the warning colour. */
export function featureTimeSpec(feature: string, series: readonly IDriftResult[], span: ITimeSpan, c: IThemeColors): Spec {
  const rows = series.flatMap(result =>
    result.features
      .filter(f => f.feature === feature)
      .map(f => ({
        time: (((result.since ?? result.until ?? 0) + (result.until ?? 0)) / 2) * 1000,
        effect: f.effect,
        drifted: f.drifted,
        q: f.q_value,
        measure: EFFECT_WORDS[f.effect_name] ?? f.effect_name,
        n: f.n_current
      }))
  );
  const threshold = series.length ? series[series.length - 1].min_effect : 0.1;
  const measure = rows.length ? rows[0].measure : 'effect';
  const y = { field: 'effect', type: 'quantitative', title: measure, scale: { zero: false, nice: true }, axis: { format: '.2f', tickCount: 4 } };
  return {
    ...base(feature, `${measure} per bucket · dashed: threshold ${threshold}`, 90, c),
    layer: [
      { data: { values: rows }, mark: { type: 'line', color: c.accent, strokeWidth: 1.5 }, encoding: { x: timeX(span), y } },
      {
        data: { values: rows },
        mark: { type: 'point', filled: true, size: 26 },
        encoding: {
          x: timeX(span),
          y,
          color: { condition: { test: 'datum.drifted', value: c.warn }, value: c.accent },
          tooltip: [
            { field: 'time', type: 'temporal', format: '%Y-%m-%d %H:%M', title: 'bucket middle' },
            { field: 'effect', format: '.3f', title: measure },
            { field: 'q', format: '.2g', title: 'q (BH)' },
            { field: 'drifted' },
            { field: 'n', title: 'rows' }
          ]
        }
      },
      { data: { values: [{ threshold }] }, mark: { type: 'rule', strokeDash: [5, 4], color: c.warn }, encoding: { y: { field: 'threshold', type: 'quantitative' } } }
    ]
  };
}

/** Share of drifted features per bucket; buckets too small to test are ticks on the axis, with their n on hover. */
export function datasetDriftTimeSpec(timeline: readonly IMetricWindow[], span: ITimeSpan, c: IThemeColors): Spec {
  const rows = bucketRows(timeline);
  const scored = rows.filter(r => r.value !== null);
  const small = rows.filter(r => r.value === null && r.n > 0).map(r => ({ ...r, reason: `not enough data (n=${r.n})` }));
  const y = { field: 'value', type: 'quantitative', title: 'share drifted', scale: { domain: [0, 1] }, axis: { format: '.0%', tickCount: 3 } };
  return {
    ...base('Dataset drift', `share of features drifted per bucket${small.length ? ' · ticks: too few rows to test' : ''}`, 90, c),
    layer: [
      { data: { values: scored }, mark: { type: 'line', color: c.accent, strokeWidth: 1.5 }, encoding: { x: timeX(span), y } },
      {
        data: { values: scored },
        mark: { type: 'point', filled: true, size: 26, color: c.accent },
        encoding: { x: timeX(span), y, tooltip: [{ field: 'value', format: '.0%', title: 'share drifted' }, { field: 'n', title: 'rows' }] }
      },
      {
        data: { values: small },
        mark: { type: 'tick', orient: 'vertical', color: c.muted, opacity: 0.6, size: 8 },
        encoding: { x: timeX(span), y: { datum: 0, type: 'quantitative' }, tooltip: [{ field: 'reason', title: 'bucket' }] }
      }
    ]
  };
}

function opsRows(timeline: readonly IOpsStats[]): Record<string, unknown>[] {
  return timeline.map(s => ({
    time: ((s.start + s.end) / 2) * 1000,
    start: s.start * 1000,
    end: s.end * 1000,
    n: s.n,
    few: s.n < MIN_ROWS,
    p50: s.latency_p50_ms,
    p95: s.latency_p95_ms,
    p99: s.latency_p99_ms,
    errors: s.error_rate,
    fallback: s.fallback_rate,
    rps: s.throughput_rps
  }));
}

/** Latency percentiles per bucket (p50, p95, p99), small buckets faded. */
export function latencySpec(timeline: readonly IOpsStats[], span: ITimeSpan, c: IThemeColors): Spec {
  const rows = opsRows(timeline).filter(r => r['n'] !== 0);
  return {
    ...base('Latency', `milliseconds per bucket${rows.some(r => r['few']) ? ` · faded: fewer than ${MIN_ROWS} requests` : ''}`, 110, c),
    data: { values: rows },
    transform: [{ fold: ['p50', 'p95', 'p99'], as: ['percentile', 'ms'] }, { filter: 'datum.ms !== null' }],
    layer: [
      { mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x: timeX(span), y: { field: 'ms', type: 'quantitative', title: 'ms', scale: { zero: false } }, color: { field: 'percentile', type: 'nominal', title: null } } },
      {
        mark: { type: 'point', filled: true, size: 20 },
        encoding: {
          x: timeX(span),
          y: { field: 'ms', type: 'quantitative' },
          color: { field: 'percentile', type: 'nominal', title: null },
          opacity: faded,
          tooltip: [{ field: 'percentile' }, { field: 'ms', format: '.1f' }, { field: 'n', title: 'requests' }]
        }
      }
    ]
  };
}

/** Requests per bucket as bars, and the error and fallback rates as lines on their own axis. */
export function trafficSpec(timeline: readonly IOpsStats[], span: ITimeSpan, c: IThemeColors): Spec {
  const rows = opsRows(timeline);
  const worst = Math.max(0, ...timeline.map(s => Math.max(s.error_rate, s.fallback_rate)));
  return {
    ...base('Throughput, errors and fallback', 'bars: requests per bucket · lines: error and fallback rate', 110, c),
    resolve: { scale: { y: 'independent' } },
    layer: [
      {
        data: { values: rows },
        mark: { type: 'bar', color: c.accent, opacity: 0.35, stroke: c.grid, strokeWidth: 0.5 },
        encoding: {
          x: { ...timeX(span), field: 'start' },
          x2: { field: 'end' },
          y: { field: 'n', type: 'quantitative', title: 'requests', axis: { tickCount: 4 } },
          y2: { datum: 0 }, // a bar spanning its bucket (x to x2) is drawn from zero only when told
          tooltip: [{ field: 'n', title: 'requests' }, { field: 'rps', format: '.2f', title: 'req/s' }]
        }
      },
      {
        data: { values: rows.filter(r => r['n'] !== 0) },
        transform: [{ fold: ['errors', 'fallback'], as: ['rate', 'share'] }],
        mark: { type: 'line', point: { size: 16 }, strokeWidth: 1.5 },
        encoding: {
          x: timeX(span),
          // Rates from 0: with no errors the line lies on the axis, not in the middle of an empty scale.
          y: { field: 'share', type: 'quantitative', title: 'rate', scale: { domain: [0, Math.max(0.05, worst)] }, axis: { format: '.0%', orient: 'right', tickCount: 3 } },
          color: { field: 'rate', type: 'nominal', title: null, scale: { domain: ['errors', 'fallback'], range: [c.warn, c.muted] } },
          tooltip: [{ field: 'rate' }, { field: 'share', format: '.1%' }, { field: 'n', title: 'requests' }]
        }
      }
    ]
  };
}

/** Favourable-outcome rate per group with its 95% CI for one protected attribute; groups under the minimum faded with n. */
export function groupRatesSpec(attribute: IFairnessAttribute, c: IThemeColors): Spec {
  const rows = attribute.groups.map(g => ({
    group: g.group,
    rate: g.selection_rate,
    low: g.selection_low,
    high: g.selection_high,
    n: g.n,
    few: g.n < attribute.min_group_size,
    label: `n=${g.n}`
  }));
  const y = { field: 'group', type: 'nominal', title: null, sort: null, axis: { labelLimit: 120 } };
  const x = { field: 'rate', type: 'quantitative', title: 'favourable-outcome rate', scale: { domain: [0, 1] }, axis: { format: '.0%', tickCount: 5 } };
  const ratio = attribute.di_ratio === null ? 'DI ratio —' : `DI ratio ${attribute.di_ratio.toFixed(2)} [${(attribute.di_low ?? 0).toFixed(2)}, ${(attribute.di_high ?? 0).toFixed(2)}]`;
  return {
    ...base(`${attribute.attribute}: rate per group, 95% CI`, `${ratio} · ${attribute.verdict.replace(/_/g, ' ')}`, 24 * Math.max(rows.length, 1), c),
    layer: [
      { data: { values: rows }, mark: { type: 'rule', color: c.muted, strokeWidth: 2 }, encoding: { y, x: { ...x, field: 'low' }, x2: { field: 'high' }, opacity: faded } },
      {
        data: { values: rows },
        mark: { type: 'point', filled: true, size: 60, color: attribute.verdict === 'adverse_impact' ? c.warn : c.accent },
        encoding: {
          y,
          x,
          opacity: faded,
          tooltip: [{ field: 'group' }, { field: 'rate', format: '.1%' }, { field: 'low', format: '.1%', title: 'CI low' }, { field: 'high', format: '.1%', title: 'CI high' }, { field: 'n', title: 'rows' }]
        }
      }
    ]
  };
}
