/**
 * Vega-Lite specifications for the drift panel, built from the API's JSON (pure: no DOM).
 * Colours come from JupyterLab's theme variables through `themeConfig`, so dark mode works.
 */
import type { IDriftResult, IFairness } from './tokens';

export type Spec = Record<string, unknown>;

/** Theme colours read from CSS variables by the widget. */
export interface IThemeColors {
  text: string;
  muted: string;
  grid: string;
  accent: string;
  warn: string;
  font: string;
}

/** Vega-Lite `config` matching the JupyterLab theme; transparent background. */
export function themeConfig(c: IThemeColors): Spec {
  return {
    background: null,
    font: c.font,
    view: { stroke: c.grid },
    axis: { labelColor: c.muted, titleColor: c.text, gridColor: c.grid, domainColor: c.grid, tickColor: c.grid },
    legend: { labelColor: c.muted, titleColor: c.text, orient: 'bottom', columns: 2, symbolSize: 40, labelLimit: 140 },
    title: { color: c.text, fontSize: 12, anchor: 'start', subtitleFontSize: 10 },
    range: { category: { scheme: 'tableau10' } }
  };
}

function base(title: string, subtitle: string, height: number, c: IThemeColors): Spec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle, subtitleColor: c.muted },
    width: 'container',
    height,
    autosize: { type: 'fit-x', contains: 'padding' },
    config: themeConfig(c)
  };
}

/** The `top` features with the largest effect in any window, largest first. */
export function topFeatures(series: readonly IDriftResult[], top: number): string[] {
  const best = new Map<string, number>();
  for (const result of series) {
    for (const f of result.features) {
      best.set(f.feature, Math.max(best.get(f.feature) ?? 0, f.effect));
    }
  }
  return [...best.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name]) => name);
}

/** The effect sizes in words: `wasserstein_norm` is an identifier, not an axis title. */
export const EFFECT_WORDS: Record<string, string> = { wasserstein_norm: 'Wasserstein (normed)', jensen_shannon: 'JS distance' };

/** Disparate-impact ratio per protected attribute with its CI; the four-fifths line at 0.8. */
export function fairnessSpec(fairness: IFairness, c: IThemeColors): Spec {
  const rows = fairness.attributes
    .filter(a => a.di_ratio !== null)
    .map(a => ({ attribute: a.attribute, ratio: a.di_ratio, low: a.di_low ?? a.di_ratio, high: a.di_high ?? a.di_ratio, verdict: a.verdict }));
  const y = { field: 'attribute', type: 'nominal', title: null };
  return {
    ...base('Disparate impact ratio, 95% CI', 'dashed: four-fifths rule (0.8)', 26 * Math.max(rows.length, 1), c),
    layer: [
      {
        data: { values: rows },
        mark: { type: 'rule', color: c.muted, strokeWidth: 2 },
        encoding: { y, x: { field: 'low', type: 'quantitative', title: 'ratio', scale: { domain: [0, 1.2] } }, x2: { field: 'high' } }
      },
      {
        data: { values: rows },
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          y,
          x: { field: 'ratio', type: 'quantitative' },
          color: {
            field: 'verdict',
            type: 'nominal',
            title: null,
            scale: { domain: ['ok', 'adverse_impact', 'insufficient_data'], range: [c.accent, c.warn, c.muted] },
            legend: { labelExpr: "replace(datum.label, /_/g, ' ')" }
          },
          tooltip: [{ field: 'attribute' }, { field: 'ratio', format: '.3f' }, { field: 'low', format: '.3f' }, { field: 'high', format: '.3f' }, { field: 'verdict' }]
        }
      },
      {
        data: { values: [{ x: 0.8 }] },
        mark: { type: 'rule', strokeDash: [5, 4], color: c.warn },
        encoding: { x: { field: 'x', type: 'quantitative' } }
      }
    ]
  };
}
