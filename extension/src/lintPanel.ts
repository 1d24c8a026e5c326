/**
 * Lint panel: the active notebook's findings grouped by severity. Click a finding to jump to its
 * cell; the notebook is linted again on every save; a button runs the re-execution check.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { ApiError, Nb2prodClient } from './client';
import { cellTarget, groupBySeverity, location, summary } from './lintModel';
import { IFinding, ILintReport, PanelIDs } from './tokens';
import { el } from './dom';

const TITLES = { error: 'Errors', warning: 'Warnings', info: 'Info' };

export class LintPanel extends Widget {
  private notebook: NotebookPanel | null = null;
  private report: ILintReport | null = null;
  private generation = 0;
  private running = false;
  private readonly pathNode = el('div', { className: 'jp-nb2prod-path' }, 'No notebook open');
  private readonly summaryNode = el('div', { className: 'jp-nb2prod-summary' });
  private readonly messageNode = el('div', { className: 'jp-nb2prod-message' });
  private readonly progressNode = el('div', { className: 'jp-nb2prod-progress', hidden: true });
  private readonly listNode = el('div', { className: 'jp-nb2prod-findings' });
  private readonly lintButton: HTMLButtonElement;
  private readonly runButton: HTMLButtonElement;

  constructor(
    private readonly client: Nb2prodClient,
    tracker: INotebookTracker,
    private readonly shell: JupyterFrontEnd.IShell
  ) {
    super();
    this.id = PanelIDs.lint;
    this.addClass('jp-nb2prod-panel');
    this.addClass('jp-nb2prod-lint');
    this.lintButton = el('button', { className: 'jp-mod-styled jp-nb2prod-button', title: 'Lint the notebook again' }, 'Lint');
    this.runButton = el(
      'button',
      { className: 'jp-mod-styled jp-nb2prod-button jp-mod-accept', title: 'Restart-and-run-all twice in fresh kernels and compare' },
      'Run the re-execution check'
    );
    this.lintButton.onclick = () => void this.lint(false);
    this.runButton.onclick = () => void this.lint(true);
    this.node.append(
      el('h2', { className: 'jp-nb2prod-title' }, 'Notebook lint'),
      this.pathNode,
      el('div', { className: 'jp-nb2prod-toolbar' }, this.lintButton, this.runButton),
      this.progressNode,
      this.summaryNode,
      this.messageNode,
      this.listNode
    );
    tracker.currentChanged.connect((_, panel) => this.follow(panel), this);
    this.follow(tracker.currentWidget);
  }

  /** Follow the active notebook: lint it now and again whenever it is saved. */
  private follow(panel: NotebookPanel | null): void {
    if (panel === this.notebook) {
      return;
    }
    this.notebook?.context.saveState.disconnect(this.onSaved, this);
    this.notebook = panel;
    this.report = null;
    panel?.context.saveState.connect(this.onSaved, this);
    void panel?.context.ready.then(() => this.lint(false));
    this.render();
  }

  private onSaved(_: DocumentRegistry.Context, state: DocumentRegistry.SaveState): void {
    if (state === 'completed' && !this.running) {
      void this.lint(false);
    }
  }

  /** Lint the followed notebook; with `run`, also re-execute it (slow: shows progress). */
  async lint(run: boolean): Promise<void> {
    const panel = this.notebook;
    if (!panel) {
      return;
    }
    const generation = ++this.generation;
    const started = Date.now();
    let timer = 0;
    if (run) {
      this.running = true;
      this.progressNode.hidden = false;
      const tick = (): void => {
        const seconds = Math.round((Date.now() - started) / 1000);
        this.progressNode.replaceChildren(
          el('progress', { className: 'jp-nb2prod-progressbar' }),
          el('div', {}, `re-executing the notebook twice in fresh kernels… ${seconds} s`)
        );
      };
      tick();
      timer = window.setInterval(tick, 1000);
    }
    this.setBusy(true);
    try {
      if (run && panel.context.model.dirty) {
        await panel.context.save();
      }
      const path = panel.context.path;
      const report = run ? await this.client.lintWithRun(path) : await this.client.lint(path);
      if (generation === this.generation && panel === this.notebook) {
        this.report = report;
        this.messageNode.textContent = '';
      }
    } catch (error) {
      if (generation === this.generation) {
        this.messageNode.textContent = error instanceof ApiError ? error.display : String(error);
      }
    } finally {
      window.clearInterval(timer);
      if (run) {
        this.running = false;
        this.progressNode.hidden = true;
      }
      this.setBusy(false);
      this.render();
    }
  }

  private setBusy(busy: boolean): void {
    this.runButton.disabled = busy;
    this.lintButton.disabled = busy;
    this.toggleClass('jp-mod-busy', busy);
  }

  private render(): void {
    const panel = this.notebook;
    this.pathNode.textContent = panel ? panel.context.path : 'No notebook open';
    this.runButton.disabled = !panel || this.running;
    this.lintButton.disabled = !panel || this.running;
    const report = this.report;
    this.summaryNode.textContent = report ? summary(report) : '';
    this.listNode.replaceChildren(
      ...(report
        ? groupBySeverity(report.findings).map(group =>
            el(
              'section',
              { className: 'jp-nb2prod-group', dataset: { severity: group.severity } },
              el('h3', {}, `${TITLES[group.severity]} (${group.findings.length})`),
              el('ul', {}, ...group.findings.map(f => this.findingNode(f)))
            )
          )
        : [])
    );
  }

  private findingNode(finding: IFinding): HTMLElement {
    const item = el(
      'li',
      { className: 'jp-nb2prod-finding', tabIndex: 0, title: 'Go to the cell', dataset: { rule: finding.rule, severity: finding.severity } },
      el('div', { className: 'jp-nb2prod-finding-head' }, el('span', { className: 'jp-nb2prod-rule' }, finding.rule), el('span', { className: 'jp-nb2prod-where' }, location(finding))),
      el('div', { className: 'jp-nb2prod-finding-message' }, finding.message),
      ...(finding.fix ? [el('div', { className: 'jp-nb2prod-fix' }, `Fix: ${finding.fix}`)] : [])
    );
    item.onclick = () => void this.jump(finding);
    item.onkeydown = event => {
      if (event.key === 'Enter') {
        void this.jump(finding);
      }
    };
    return item;
  }

  /** Activate the notebook and scroll its cell into view, selected. */
  async jump(finding: IFinding): Promise<void> {
    const panel = this.notebook;
    if (!panel) {
      return;
    }
    const notebook = panel.content;
    const index = cellTarget(finding, notebook.widgets.map(cell => cell.model.id));
    if (index < 0) {
      return;
    }
    this.shell.activateById(panel.id);
    notebook.mode = 'command';
    notebook.activeCellIndex = index;
    notebook.deselectAll();
    await notebook.scrollToItem(index, 'center');
    const cell = notebook.widgets[index];
    cell.addClass('jp-nb2prod-flash');
    window.setTimeout(() => cell.removeClass('jp-nb2prod-flash'), 1600);
  }

  protected onCloseRequest(): void {
    this.notebook?.context.saveState.disconnect(this.onSaved, this);
  }
}
