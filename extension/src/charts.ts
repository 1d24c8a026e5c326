/** Renders Vega-Lite specs with vega-embed (bundled by the build), coloured by the JupyterLab theme. */
import embed, { Result } from 'vega-embed';

import type { IThemeColors, Spec } from './chartSpecs';
import { fitTitle } from './dashboardModel';

/** Theme colours from JupyterLab's CSS variables at the time of the call (light or dark). */
export function themeColors(node: HTMLElement = document.body): IThemeColors {
  const style = getComputedStyle(node);
  const read = (name: string, fallback: string): string => style.getPropertyValue(name).trim() || fallback;
  return {
    text: read('--jp-ui-font-color1', '#333'),
    muted: read('--jp-ui-font-color2', '#666'),
    grid: read('--jp-border-color2', '#ddd'),
    accent: read('--jp-brand-color1', '#1976d2'),
    warn: read('--jp-error-color1', '#d32f2f'),
    font: read('--jp-ui-font-family', 'sans-serif')
  };
}

/** A chart slot: re-rendering finalizes the previous view (no leaked listeners). */
export class Chart {
  readonly node: HTMLDivElement;
  private view: Result | null = null;

  constructor(className: string) {
    this.node = document.createElement('div');
    this.node.className = `jp-nb2prod-chart ${className}`;
  }

  async render(spec: Spec | null): Promise<void> {
    this.dispose();
    this.node.textContent = '';
    if (!spec) {
      return;
    }
    this.view = await embed(this.node, fitTitle(spec, this.node.clientWidth) as never, { actions: false, renderer: 'svg' });
  }

  dispose(): void {
    this.view?.finalize();
    this.view = null;
  }
}
