/**
 * nb2prod's JupyterLab panels: lint (left), deployments, drift and shadow comparison (right). They talk only to the
 * server extension's REST API (`nb2prod/api/...`).
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { DashboardPanel } from './dashboardPanel';
import { DeploymentsPanel } from './deploymentsPanel';
import { DriftPanel } from './driftPanel';
import { LintPanel } from './lintPanel';
import { createClient } from './request';
import { ShadowPanel } from './shadowPanel';
import { CommandIDs, PanelIDs } from './tokens';

const icon = (name: string, path: string): LabIcon =>
  new LabIcon({
    name: `nb2prod:${name}`,
    svgstr: `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path class="jp-icon3" fill="#616161" d="${path}"/></svg>`
  });

const lintIcon = icon('lint', 'M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z');
const deployIcon = icon('deploy', 'M12 2 2 7v10l10 5 10-5V7zm0 2.2L19.8 8 12 11.8 4.2 8zM4 9.6l7 3.5v7.3l-7-3.5zm9 10.8v-7.3l7-3.5v7.3z');
const driftIcon = icon('drift', 'M3 17l6-6 4 4 8-8v4h2V3h-8v2h4l-6 6-4-4-7 7z');
const shadowIcon = icon('shadow', 'M9 4a8 8 0 1 0 0 16 8 8 0 0 0 0-16zm0 2a6 6 0 0 1 0 12zm6-1.6v2.3a6 6 0 0 1 0 10.6v2.3a8 8 0 0 0 0-15.2z');

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nb2prod:plugin',
  description: 'nb2prod panels: lint, deployments, drift, shadow comparison',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ISettingRegistry],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, palette: ICommandPalette | null, settings: ISettingRegistry | null) => {
    const client = createClient();
    let dashboard: MainAreaWidget<DashboardPanel> | null = null;
    /** Opens (or brings forward) the one dashboard tab, showing `name`/`version`/`window` when given. */
    const openDashboard = (name?: string, version?: string, window?: string): void => {
      if (!dashboard || dashboard.isDisposed) {
        const content = new DashboardPanel(client, `${PanelIDs.dashboard}-content`);
        dashboard = new MainAreaWidget({ content });
        dashboard.id = PanelIDs.dashboard;
        dashboard.title.label = 'nb2prod dashboard';
        dashboard.title.icon = driftIcon;
        dashboard.title.closable = true;
        app.shell.add(dashboard, 'main');
      }
      app.shell.activateById(dashboard.id);
      void dashboard.content.show(name, version, window);
    };
    const lint = new LintPanel(client, tracker, app.shell);
    lint.title.icon = lintIcon;
    lint.title.caption = 'nb2prod: notebook lint';
    const deployments = new DeploymentsPanel(client, openDashboard);
    deployments.title.icon = deployIcon;
    deployments.title.caption = 'nb2prod: deployments';
    const drift = new DriftPanel(client, openDashboard);
    drift.title.icon = driftIcon;
    drift.title.caption = 'nb2prod: drift and fairness';
    const shadow = new ShadowPanel(client, openDashboard);
    shadow.title.icon = shadowIcon;
    shadow.title.caption = 'nb2prod: shadow comparison';
    if (settings) {
      void settings
        .load(plugin.id)
        .then(loaded => {
          const apply = (): void => {
            const seconds = loaded.get('driftRefreshSeconds').composite as number;
            drift.refreshSeconds = seconds;
            shadow.refreshSeconds = seconds;
          };
          apply();
          loaded.changed.connect(apply);
        })
        .catch(reason => console.warn('nb2prod: settings not loaded', reason));
    }
    app.shell.add(lint, 'left', { rank: 650 });
    app.shell.add(deployments, 'right', { rank: 650 });
    app.shell.add(drift, 'right', { rank: 651 });
    app.shell.add(shadow, 'right', { rank: 652 });

    const opener = (widget: Widget) => () => app.shell.activateById(widget.id);
    app.commands.addCommand(CommandIDs.openLint, { label: 'nb2prod: Show Notebook Lint', execute: opener(lint) });
    app.commands.addCommand(CommandIDs.openDeployments, { label: 'nb2prod: Show Deployments', execute: opener(deployments) });
    app.commands.addCommand(CommandIDs.openDrift, { label: 'nb2prod: Show Drift & Fairness', execute: opener(drift) });
    app.commands.addCommand(CommandIDs.openShadow, { label: 'nb2prod: Show Shadow Comparison', execute: opener(shadow) });
    app.commands.addCommand(CommandIDs.openDashboard, {
      label: 'nb2prod: Open Monitoring Dashboard',
      caption: 'Full-width monitoring of one deployment version: drift, performance, fairness, operations, shadow, alerts',
      execute: args => openDashboard(args['name'] as string | undefined, args['version'] as string | undefined, args['window'] as string | undefined)
    });
    app.commands.addCommand(CommandIDs.lintCurrent, {
      label: 'nb2prod: Lint Current Notebook',
      isEnabled: () => tracker.currentWidget !== null,
      execute: () => lint.lint(false)
    });
    for (const command of [CommandIDs.openDashboard, CommandIDs.openLint, CommandIDs.openDeployments, CommandIDs.openDrift, CommandIDs.openShadow, CommandIDs.lintCurrent]) {
      palette?.addItem({ command, category: 'nb2prod' });
    }
  }
};

export default plugin;
