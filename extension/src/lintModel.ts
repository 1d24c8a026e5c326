/** Pure view-model of a lint report: findings grouped by severity, worst first. */
import type { IFinding, ILintReport, Severity } from './tokens';

export const SEVERITIES: Severity[] = ['error', 'warning', 'info'];

export interface ISeverityGroup {
  severity: Severity;
  findings: IFinding[];
}

/** Groups in severity order (error, warning, info); empty groups are left out; cell order within a group. */
export function groupBySeverity(findings: readonly IFinding[]): ISeverityGroup[] {
  return SEVERITIES.map(severity => ({
    severity,
    findings: findings
      .filter(f => f.severity === severity)
      .sort((a, b) => (a.cell_index ?? -1) - (b.cell_index ?? -1) || (a.line ?? 0) - (b.line ?? 0))
  })).filter(g => g.findings.length > 0);
}

/** `2 errors, 1 warning` — or `no findings`. */
export function summary(report: ILintReport): string {
  const counts = groupBySeverity(report.findings).map(
    g => `${g.findings.length} ${g.severity}${g.findings.length === 1 ? '' : g.severity === 'info' ? '' : 's'}`
  );
  const text = counts.length ? counts.join(', ') : 'no findings';
  return report.executed ? `${text} (re-executed)` : text;
}

/** Where a finding is: `cell 3, line 2`, `notebook`. Cells are counted from 1 as JupyterLab shows them. */
export function location(finding: IFinding): string {
  if (finding.cell_index === null || finding.cell_index === undefined) {
    return 'notebook';
  }
  return finding.line ? `cell ${finding.cell_index + 1}, line ${finding.line}` : `cell ${finding.cell_index + 1}`;
}

/** The cell a finding points at: by cell id when the notebook has one, else by index; -1 for none. */
export function cellTarget(finding: IFinding, cellIds: readonly (string | undefined)[]): number {
  if (finding.cell_id) {
    const byId = cellIds.indexOf(finding.cell_id);
    if (byId >= 0) {
      return byId;
    }
  }
  const index = finding.cell_index;
  return index !== null && index !== undefined && index >= 0 && index < cellIds.length ? index : -1;
}
