/**
 * The plumbing the side panels share: a title, a toolbar with a Refresh button (and, for live
 * panels, a "live" toggle with a timer that refreshes while the panel is visible), one message
 * line for notes and errors, and one refresh at a time.
 */
import { Widget } from '@lumino/widgets';

import { ApiError, Nb2prodClient } from './client';
import { el } from './dom';
import type { IDeploymentStatus } from './tokens';

export interface IRefreshingPanelOptions {
  /** The widget id (`PanelIDs`). */
  id: string;
  /** Extra CSS class of the panel. */
  className: string;
  /** The heading. */
  title: string;
  /** Tooltip of the Refresh button. */
  refreshTitle?: string;
  /** Whether the panel has a "live" toggle that refreshes it on a timer while it is visible. */
  live?: boolean;
}

/** Opens the full-width monitoring dashboard on a deployment (and version, window). */
export type DashboardOpener = (name?: string, version?: string, window?: string) => void;

/** A "Dashboard" button that opens the full-width dashboard on what `target()` names. */
export function dashboardButton(open: DashboardOpener | undefined, target: () => [string | undefined, string | undefined, string | undefined]): HTMLButtonElement | null {
  if (!open) {
    return null;
  }
  const button = el('button', { className: 'jp-mod-styled jp-nb2prod-button jp-nb2prod-open-dashboard', title: 'Open the full-width monitoring dashboard' }, 'Dashboard');
  button.onclick = () => open(...target());
  return button;
}

/** One line for the panels: the API's message and fix, or the error's text. */
export function errorText(error: unknown): string {
  return error instanceof ApiError ? error.display : String(error);
}

export abstract class RefreshingPanel extends Widget {
  protected readonly messageNode = el('div', { className: 'jp-nb2prod-message' });
  protected readonly toolbar = el('div', { className: 'jp-nb2prod-toolbar' });
  protected readonly updatedNode = el('div', { className: 'jp-nb2prod-updated' });
  protected readonly refreshButton: HTMLButtonElement;
  /** The "live" checkbox, or null for panels that only refresh on demand. */
  protected readonly live: HTMLInputElement | null;
  /** How many refreshes completed (the browser tests wait on it). */
  refreshes = 0;
  private timer = 0;
  private refreshMs = 30_000;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(protected readonly client: Nb2prodClient, options: IRefreshingPanelOptions) {
    super();
    this.id = options.id;
    this.addClass('jp-nb2prod-panel');
    this.addClass(options.className);
    this.refreshButton = el('button', { className: 'jp-mod-styled jp-nb2prod-button', title: options.refreshTitle ?? 'Reload' }, 'Refresh');
    this.refreshButton.onclick = () => void this.refresh();
    this.live = options.live ? el('input', { type: 'checkbox', checked: true, title: 'Refresh every 30 s' }) : null;
    if (this.live) {
      this.live.onchange = () => this.schedule();
    }
    this.setControls();
    this.node.append(el('h2', { className: 'jp-nb2prod-title' }, options.title), this.toolbar, this.messageNode);
  }

  /** Fetch and draw. Errors are shown by `refresh`; return false when there was nothing to load. */
  protected abstract load(): Promise<boolean | void>;

  /** Runs before the first refresh each time the panel is shown (e.g. fill a selector). */
  protected async prepare(): Promise<void> {
    /* nothing by default */
  }

  /** The toolbar: the panel's own controls, then the live toggle and the Refresh button. */
  protected setControls(...controls: HTMLElement[]): void {
    const liveLabel = this.live ? el('label', { className: 'jp-nb2prod-live' }, this.live, ' live') : null;
    this.toolbar.replaceChildren(...controls, ...(liveLabel ? [liveLabel] : []), this.refreshButton);
  }

  /** Reload now; a call during a refresh runs one more refresh after it (never two at once). */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.run().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.running;
  }

  private async run(): Promise<void> {
    try {
      if ((await this.load()) !== false) {
        this.refreshes += 1;
        this.updatedNode.textContent = `updated ${new Date().toLocaleTimeString()}`;
      }
    } catch (error) {
      this.say(errorText(error), true);
    }
  }

  /** Show a note (or an error) on the panel's message line; empty text hides it. */
  protected say(text: string, isError = false): void {
    this.messageNode.textContent = text;
    this.messageNode.classList.toggle('jp-mod-error', isError);
  }

  /** Seconds between refreshes while visible and live (a setting). */
  set refreshSeconds(seconds: number) {
    const shown = Math.max(2, seconds);
    this.refreshMs = shown * 1000;
    if (this.live) {
      this.live.title = `Refresh every ${shown} s`;
    }
    if (this.isVisible) {
      this.schedule();
    }
  }

  protected schedule(): void {
    window.clearInterval(this.timer);
    if (this.live?.checked) {
      this.timer = window.setInterval(() => this.isVisible && void this.refresh(), this.refreshMs);
    }
  }

  /** Fill `select` with the deployments' names, keeping the current choice (else the first `preferred` one). */
  protected async fillDeployments(select: HTMLSelectElement, preferred?: (d: IDeploymentStatus) => boolean): Promise<IDeploymentStatus[]> {
    try {
      const deployments = await this.client.deployments();
      const names = deployments.map(d => d.name);
      const current = names.includes(select.value) ? select.value : (deployments.find(d => preferred?.(d)) ?? deployments[0])?.name;
      select.replaceChildren(...names.map(n => el('option', { value: n, selected: n === current }, n)));
      if (!names.length) {
        this.say('No deployments yet: deploy a model with %deploy.');
      }
      return deployments;
    } catch (error) {
      this.say(errorText(error), true);
      return [];
    }
  }

  protected onAfterShow(): void {
    void this.prepare().then(() => this.refresh());
    this.schedule();
  }

  protected onAfterHide(): void {
    window.clearInterval(this.timer);
  }

  dispose(): void {
    window.clearInterval(this.timer);
    super.dispose();
  }
}

/** A panel about one deployment over a time window: a deployment picker and a window picker in its toolbar. */
export abstract class DeploymentWindowPanel extends RefreshingPanel {
  protected readonly select = el('select', { className: 'jp-nb2prod-select', title: 'Deployment' });
  protected readonly windowSelect = el('select', { className: 'jp-nb2prod-select', title: 'Window' });

  /** `windows`: [value, label] pairs; `initial`: the value selected at first. */
  constructor(client: Nb2prodClient, options: IRefreshingPanelOptions, windows: [string, string][], initial: string, openDashboard?: DashboardOpener) {
    super(client, options);
    for (const [value, label] of windows) {
      this.windowSelect.append(el('option', { value, selected: value === initial }, label));
    }
    this.select.onchange = () => void this.refresh();
    this.windowSelect.onchange = () => void this.refresh();
    const button = dashboardButton(openDashboard, () => [this.select.value || undefined, undefined, this.windowSelect.value === 'all' ? undefined : this.windowSelect.value]);
    this.setControls(this.select, this.windowSelect, ...(button ? [button] : []));
  }
}
