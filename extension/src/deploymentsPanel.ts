/**
 * Deployments panel: each deployment's traffic split, its versions with their version records,
 * promote / canary / rollback buttons behind a confirmation, the history with gate evidence, and
 * "Approve & promote" for a shadow version the shadow gate sent to a human (`needs_approval`).
 */
import { Dialog, InputDialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { Nb2prodClient } from './client';
import {
  Action,
  allowedActions,
  gateLines,
  IPendingApproval,
  metricsLine,
  pendingApproval,
  rollbackLabel,
  shortVersion,
  trafficSlices,
  when
} from './deploymentsModel';
import { shortId } from './dashboardModel';
import { el, idNode } from './dom';
import { dashboardButton, DashboardOpener, errorText, RefreshingPanel } from './refreshingPanel';
import { IDeploymentStatus, IRegistryEvent, IVersionStatus, PanelIDs } from './tokens';

export class DeploymentsPanel extends RefreshingPanel {
  private readonly listNode = el('div', { className: 'jp-nb2prod-deployments' });
  private deployments: IDeploymentStatus[] = [];

  constructor(client: Nb2prodClient, private readonly openDashboard?: DashboardOpener) {
    super(client, { id: PanelIDs.deployments, className: 'jp-nb2prod-deployments-panel', title: 'Deployments', refreshTitle: 'Reload from the registry' });
    this.node.append(this.listNode);
  }

  /** Reload every deployment with its history. */
  protected async load(): Promise<void> {
    const names = (await this.client.deployments()).map(d => d.name);
    this.deployments = await Promise.all(names.map(name => this.client.deployment(name, 50)));
    this.render();
    if (!names.length) {
      this.say('No deployments yet: deploy a model with %deploy.');
    }
  }

  private render(): void {
    this.listNode.replaceChildren(...this.deployments.map(d => this.deploymentNode(d)));
  }

  private deploymentNode(status: IDeploymentStatus): HTMLElement {
    const rollback = rollbackLabel(status);
    const rollbackButton = rollback
      ? el('button', { className: 'jp-mod-styled jp-nb2prod-button jp-nb2prod-rollback', title: rollback }, 'Roll back')
      : null;
    if (rollbackButton && rollback) {
      rollbackButton.onclick = () => void this.act(status, 'rollback', null, rollback);
    }
    const slices = trafficSlices(status);
    const t = status.traffic;
    return el(
      'section',
      { className: 'jp-nb2prod-deployment', dataset: { name: status.name } },
      el(
        'div',
        { className: 'jp-nb2prod-deployment-head' },
        el('h3', {}, status.name),
        retrainBadge(status),
        dashboardButton(this.openDashboard, () => [status.name, undefined, undefined]),
        rollbackButton
      ),
      el(
        'div',
        { className: 'jp-nb2prod-traffic', title: 'Traffic split' },
        ...slices.map(s =>
          el(
            'div',
            { className: 'jp-nb2prod-slice', dataset: { role: s.role } },
            `${s.role} ${shortVersion(s.version, status.name)} · ${s.percent.toFixed(0)}%`
          )
        )
      ),
      ...slices.map(s => {
        const bar = el('div', { className: 'jp-nb2prod-share', dataset: { role: s.role } });
        bar.style.width = `${s.percent}%`;
        return bar;
      }),
      t.shadow ? el('div', { className: 'jp-nb2prod-shadow-note' }, `shadow ${shortVersion(t.shadow, status.name)} mirrors ${t.shadow_percent.toFixed(0)}% of requests`) : null,
      this.approvalNode(status),
      el('h4', {}, `Versions (${status.versions.length})`),
      ...status.versions.map(v => this.versionNode(status, v)),
      el('h4', {}, 'History'),
      el('ol', { className: 'jp-nb2prod-history' }, ...status.events.map(e => this.eventNode(status, e)))
    );
  }

  private versionNode(status: IDeploymentStatus, version: IVersionStatus): HTMLElement {
    const r = version.record;
    const short = shortVersion(r.version_id, status.name);
    const env = r.environment as Record<string, unknown>;
    const packages = env['packages'] ?? env['requirements'] ?? env['pins'];
    const labels = { promote: 'Promote', canary: 'Canary…', rollback: 'Roll back to' };
    const buttons = allowedActions(version).map(action => {
      const button = el('button', { className: `jp-mod-styled jp-nb2prod-button jp-nb2prod-${action}` }, labels[action]);
      button.onclick = () => void this.act(status, action, version, short);
      return button;
    });
    return el(
      'div',
      { className: 'jp-nb2prod-version', dataset: { version: r.version_id, state: version.state } },
      el(
        'div',
        { className: 'jp-nb2prod-version-head' },
        el('span', { className: 'jp-nb2prod-version-id', title: r.version_id }, short),
        el('span', { className: 'jp-nb2prod-badge', dataset: { state: version.state } }, version.state),
        version.traffic_percent > 0 ? el('span', { className: 'jp-nb2prod-percent' }, `${version.traffic_percent.toFixed(0)}%`) : null
      ),
      el('div', { className: 'jp-nb2prod-metrics' }, metricsLine(version) || 'no holdout metrics'),
      el('div', { className: 'jp-nb2prod-actions' }, ...buttons, dashboardButton(this.openDashboard, () => [status.name, r.version_id, undefined])),
      el(
        'details',
        { className: 'jp-nb2prod-record' },
        el('summary', {}, 'Version record'),
        el(
          'dl',
          {},
          ...row('created', r.created_at),
          ...row('data', fingerprint(r.data_fingerprint)),
          ...row('code', fingerprint(r.code_fingerprint)),
          ...row('model', r.model_hash),
          ...row('env', `python ${String(env['python'] ?? '?')}${Array.isArray(packages) ? `, ${packages.length} pinned packages` : packages && typeof packages === 'object' ? `, ${Object.keys(packages).length} pinned packages` : ''}`),
          ...row('bento', r.bento_tag ?? '—'),
          ...row('parent', r.parent ? shortVersion(r.parent, status.name) : '—')
        )
      )
    );
  }

  private eventNode(status: IDeploymentStatus, event: IRegistryEvent): HTMLElement {
    const gates = gateLines(event);
    const evidence = Object.keys(event.evidence).length ? JSON.stringify(event.evidence, null, 1) : '';
    return el(
      'li',
      { className: 'jp-nb2prod-event', dataset: { action: event.action } },
      el('div', {}, el('strong', {}, event.action), ` ${event.version_id ? shortVersion(event.version_id, status.name) : ''} · ${when(event.ts)} · ${event.actor}`),
      el('div', { className: 'jp-nb2prod-reason' }, event.reason),
      gates.length ? el('ul', { className: 'jp-nb2prod-gates' }, ...gates.map(g => el('li', { className: g.endsWith('FAILED') ? 'jp-mod-error' : '' }, g))) : null,
      evidence ? el('details', {}, el('summary', {}, 'Evidence'), el('pre', {}, evidence.slice(0, 4000))) : null
    );
  }

  /** The gate's reasons and evidence for a shadow version waiting for approval, with the Approve button. */
  private approvalNode(status: IDeploymentStatus): HTMLElement | null {
    const pending = pendingApproval(status);
    if (!pending) {
      return null;
    }
    const short = shortVersion(pending.version.record.version_id, status.name);
    const button = el('button', { className: 'jp-mod-styled jp-nb2prod-button jp-nb2prod-approve' }, 'Approve & promote');
    button.onclick = () => void this.approve(status, pending);
    return el(
      'div',
      { className: 'jp-nb2prod-approval', dataset: { version: pending.version.record.version_id } },
      el('div', { className: 'jp-nb2prod-approval-head' }, el('strong', {}, `Shadow gate: ${short} needs approval`), el('span', { className: 'jp-nb2prod-reason' }, when(pending.gate.ts))),
      el('ul', { className: 'jp-nb2prod-approval-reasons' }, ...pending.reasons.map(r => el('li', {}, r))),
      el('ul', { className: 'jp-nb2prod-approval-evidence' }, ...pending.evidence.map(line => el('li', {}, line))),
      el('div', { className: 'jp-nb2prod-actions' }, button)
    );
  }

  /** Confirm (with the gate's reasons and a reason for the history), then promote with `approve: true`. */
  private async approve(status: IDeploymentStatus, pending: IPendingApproval): Promise<void> {
    const name = status.name;
    const versionId = pending.version.record.version_id;
    const short = shortVersion(versionId, name);
    const live = status.traffic.live ? shortVersion(status.traffic.live, name) : 'none';
    const reasonInput = el('input', {
      className: 'jp-mod-styled jp-nb2prod-approve-reason',
      type: 'text',
      value: 'approved from the JupyterLab panel: significantly more accurate on labelled outcomes'
    });
    const body = new Widget({
      node: el(
        'div',
        { className: 'jp-nb2prod-approve-dialog' },
        el('p', {}, `${short} becomes the live version of ${name} (now: ${live}, which will be retired). The shadow gate asked a human to decide:`),
        el('ul', {}, ...pending.reasons.map(r => el('li', {}, r))),
        el('label', {}, 'Reason recorded in the history', reasonInput)
      )
    });
    try {
      const answer = await showDialog({ title: `Approve & promote ${short}?`, body, buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Approve & promote' })] });
      if (!answer.button.accept) {
        return;
      }
      const reason = reasonInput.value.trim() || 'approved from the JupyterLab panel';
      await this.client.promote(name, versionId, reason, true);
      this.say(`${short} approved and now live.`);
      await this.refresh();
    } catch (error) {
      this.say(errorText(error), true);
    }
  }

  /** Confirm, then call the API; the panel shows the outcome and reloads. */
  private async act(status: IDeploymentStatus, action: Action, version: IVersionStatus | null, label: string): Promise<void> {
    const name = status.name;
    try {
      if (action === 'canary' && version) {
        const answer = await InputDialog.getNumber({ title: `Canary ${label}`, label: 'Percent of the traffic of the live version (1-99)', value: 10 });
        if (!answer.button.accept || answer.value === null) {
          return;
        }
        await this.client.canary(name, version.record.version_id, answer.value);
        this.say(`${label} receives ${answer.value}% of ${name}'s traffic.`);
      } else {
        const live = status.traffic.live ? shortVersion(status.traffic.live, name) : 'none';
        const body =
          action === 'promote'
            ? `${label} becomes the live version of ${name} (now: ${live}, which will be retired).`
            : version
              ? `Roll back ${name}: make ${label} live again (now: ${live}, which will be retired).`
              : `Roll back ${name}: ${label}.`;
        const verb = action === 'promote' ? 'Promote' : 'Roll back';
        const answer = await showDialog({ title: `${verb}?`, body, buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: verb })] });
        if (!answer.button.accept) {
          return;
        }
        if (action === 'promote' && version) {
          await this.client.promote(name, version.record.version_id, 'promoted from the JupyterLab panel');
          this.say(`${label} is now live.`);
        } else {
          await this.client.rollback(name, version?.record.version_id, 'rolled back from the JupyterLab panel');
          this.say(`${name} rolled back.`);
        }
      }
      await this.refresh();
    } catch (error) {
      this.say(errorText(error), true);
    }
  }
}

/** A record row: long hashes shortened (full value on hover, copied whole), every other value in full, wrapping. */
function row(term: string, value: string): HTMLElement[] {
  const lines = value.split('\n');
  return [el('dt', {}, term), el('dd', {}, ...lines.flatMap((line, i) => [i ? el('br') : null, ...valueNodes(line)]))];
}

const HASH = /\b[0-9a-f]{24,}\b/g;

function valueNodes(text: string): (Node | string)[] {
  const out: (Node | string)[] = [];
  let last = 0;
  HASH.lastIndex = 0;
  for (let match = HASH.exec(text); match; match = HASH.exec(text)) {
    out.push(text.slice(last, match.index));
    out.push(idNode(match[0], shortId(match[0], 16)));
    last = match.index + match[0].length;
  }
  out.push(text.slice(last));
  return out.filter(part => part !== '');
}

function fingerprint(value: Record<string, unknown>): string {
  const entries = Object.entries(value ?? {});
  if (!entries.length) {
    return '—';
  }
  return entries.map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('\n');
}

/** "expired" (past the retrain policy's max age) or "retrain due" (a triggering alert fired), with the reasons as tooltip. */
function retrainBadge(status: IDeploymentStatus): HTMLElement | null {
  const retrain = status.retrain;
  if (!retrain || !retrain.due) {
    return null;
  }
  const state = retrain.expired ? 'expired' : 'due';
  return el(
    'span',
    { className: 'jp-nb2prod-badge jp-nb2prod-retrain', dataset: { state }, title: retrain.reasons.join('\n') },
    retrain.expired ? 'expired' : 'retrain due'
  );
}
