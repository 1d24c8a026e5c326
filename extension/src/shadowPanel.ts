/**
 * Shadow panel: the live version against its shadow candidate on the same requests — agreement with
 * its confidence interval, the flip matrix, both score distributions, agreement per segment, score
 * divergence, candidate errors and, with feedback labels, both accuracies and McNemar's test — plus
 * the latest shadow-gate decision. Refreshes itself while visible and "live", like the drift panel.
 */
import { Chart, themeColors } from './charts';
import { Nb2prodClient } from './client';
import { gateReasons, gateVerdict, latestGate, shortVersion, when } from './deploymentsModel';
import { el } from './dom';
import { DashboardOpener, DeploymentWindowPanel } from './refreshingPanel';
import { labelledSummary, segmentRows, shadowState, shadowStats } from './shadowModel';
import { agreementSpec, flipMatrixSpec, scoreDistributionSpec, segmentAgreementSpec } from './shadowSpecs';
import { IDeploymentStatus, IRegistryEvent, IShadowComparison, PanelIDs } from './tokens';

const WINDOWS: [string, string][] = [
  ['all', 'since the shadow started'],
  ['15m', '15m'],
  ['1h', '1h'],
  ['6h', '6h'],
  ['1d', '1d'],
  ['7d', '7d']
];

/** The gate's minimum agreement (1 - max_divergence) from a recorded gate decision's policy, or null. */
export function gateMinAgreement(gate: IRegistryEvent | null): number | null {
  const policy = gate?.evidence['policy'] as Record<string, unknown> | undefined;
  const divergence = policy?.['max_divergence'];
  return typeof divergence === 'number' ? 1 - divergence : null;
}

export class ShadowPanel extends DeploymentWindowPanel {
  private readonly versionsNode = el('div', { className: 'jp-nb2prod-shadow-versions' });
  private readonly gateNode = el('div', { className: 'jp-nb2prod-shadow-gate' });
  private readonly emptyNode = el('div', { className: 'jp-nb2prod-empty' });
  private readonly statsNode = el('div', { className: 'jp-nb2prod-stats' });
  private readonly labelledNode = el('p', { className: 'jp-nb2prod-labelled' });
  private readonly bodyNode: HTMLDivElement;
  private readonly charts = {
    agreement: new Chart('jp-nb2prod-chart-agreement'),
    flips: new Chart('jp-nb2prod-chart-flips'),
    scores: new Chart('jp-nb2prod-chart-scores'),
    segments: new Chart('jp-nb2prod-chart-segments')
  };

  constructor(client: Nb2prodClient, openDashboard?: DashboardOpener) {
    super(client, { id: PanelIDs.shadow, className: 'jp-nb2prod-shadow', title: 'Shadow comparison', live: true }, WINDOWS, 'all', openDashboard);
    this.bodyNode = el(
      'div',
      { className: 'jp-nb2prod-shadow-body' },
      this.statsNode,
      this.charts.agreement.node,
      this.charts.flips.node,
      this.charts.scores.node,
      this.charts.segments.node,
      el('h4', {}, 'Labelled outcomes'),
      this.labelledNode
    );
    this.node.append(this.versionsNode, this.gateNode, this.emptyNode, this.bodyNode, this.updatedNode);
    this.showEmpty('');
  }

  dispose(): void {
    Object.values(this.charts).forEach(c => c.dispose());
    super.dispose();
  }

  protected async prepare(): Promise<void> {
    await this.fillDeployments(this.select, d => d.traffic.shadow !== null);
  }

  /** Fetch the deployment (routing + recent history) and, when it has a shadow, the comparison; redraw. */
  protected async load(): Promise<boolean> {
    const name = this.select.value;
    if (!name) {
      return false;
    }
    const status = await this.client.deployment(name, 50);
    const shadow = status.traffic.shadow;
    if (!shadow) {
      this.say('');
      this.versionsNode.textContent = status.traffic.live ? `live ${shortVersion(status.traffic.live, name)}, no shadow` : '';
      this.gateNode.replaceChildren();
      this.showEmpty(`${name} has no shadow candidate. Start one with \`nb2prod shadow ${name}:VERSION\` (or \`nb2prod deploy NOTEBOOK --name ${name} --shadow 100\`) to compare it with the live version on real requests.`);
      return true;
    }
    const comparison = await this.client.shadow(name, this.windowSelect.value);
    this.say('');
    await this.draw(status, comparison);
    return true;
  }

  private showEmpty(text: string): void {
    this.emptyNode.textContent = text;
    this.emptyNode.hidden = !text;
    this.bodyNode.hidden = !!text;
    if (text) {
      Object.values(this.charts).forEach(c => void c.render(null));
    }
  }

  private async draw(status: IDeploymentStatus, comparison: IShadowComparison): Promise<void> {
    const name = status.name;
    const candidate = comparison.candidate_version ?? (status.traffic.shadow as string);
    const gate = latestGate(status, candidate);
    const minAgreement = gateMinAgreement(gate);
    this.versionsNode.replaceChildren(
      el('span', {}, 'live '),
      el('strong', { title: comparison.live_version ?? '' }, comparison.live_version ? shortVersion(comparison.live_version, name) : 'none'),
      el('span', {}, ' vs shadow '),
      el('strong', { title: candidate }, shortVersion(candidate, name)),
      el('span', {}, ` · mirrors ${status.traffic.shadow_percent.toFixed(0)}% of requests`)
    );
    this.drawGate(gate);
    if (shadowState(comparison) === 'empty') {
      const where = this.windowSelect.value === 'all' ? 'since the shadow started' : `in the last ${this.windowSelect.value}`;
      this.showEmpty(`No shadowed requests ${where} yet: the comparison appears once live traffic reaches ${shortVersion(candidate, name)}.`);
      return;
    }
    this.showEmpty('');
    const stat = (s: ReturnType<typeof shadowStats>[number]): HTMLElement =>
      el('div', { className: `jp-nb2prod-stat${s.flag ? ' jp-mod-warn' : ''}`, dataset: { stat: s.key }, title: s.title ?? '' }, el('span', {}, s.label), el('strong', {}, s.value));
    this.statsNode.replaceChildren(...shadowStats(comparison, minAgreement).map(stat));
    this.labelledNode.textContent = labelledSummary(comparison);
    const colors = themeColors(this.node);
    await Promise.all([
      this.charts.agreement.render(agreementSpec(comparison, colors, minAgreement)),
      this.charts.flips.render(Object.keys(comparison.flip_matrix).length ? flipMatrixSpec(comparison, colors) : null),
      this.charts.scores.render(comparison.live_scores.length ? scoreDistributionSpec(comparison, colors) : null),
      this.charts.segments.render(segmentRows(comparison).length ? segmentAgreementSpec(comparison, colors, minAgreement) : null)
    ]);
  }

  private drawGate(gate: IRegistryEvent | null): void {
    const verdict = gateVerdict(gate);
    if (!gate || !verdict) {
      this.gateNode.replaceChildren(el('span', { className: 'jp-nb2prod-reason' }, 'The shadow gate has not judged this candidate yet (it runs on promote).'));
      return;
    }
    this.gateNode.replaceChildren(
      el(
        'div',
        { className: 'jp-nb2prod-gate-head' },
        'Shadow gate ',
        el('span', { className: 'jp-nb2prod-badge', dataset: { verdict } }, verdict.replace('_', ' ')),
        el('span', { className: 'jp-nb2prod-reason' }, ` ${when(gate.ts)}`)
      ),
      el('ul', { className: 'jp-nb2prod-gate-reasons' }, ...gateReasons(gate).map(r => el('li', {}, r)))
    );
  }
}
