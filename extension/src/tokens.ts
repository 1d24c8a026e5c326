/**
 * Types of the JSON of the nb2prod REST API (`nb2prod/api/...`).
 *
 * The record types are generated from the Python records' JSON Schema into
 * `generated/models.ts` (`./dev types`; a test fails while it is stale); this module gives them
 * the names the panels use. Only what the server does not send as a record is written here.
 */

import type {
  Agreement,
  AlertEvent,
  AlertList,
  ConceptDriftResult,
  Dashboard,
  DashboardVersion,
  DeploymentList,
  DeploymentStatus,
  DriftResult,
  DriftSeries,
  EstimatedPerformance,
  FairnessAttribute,
  FairnessResult,
  FeatureDrift,
  Finding,
  GroupRates,
  Judgement,
  LabelledComparison,
  LintReport,
  MetricWindow,
  MonitorReport,
  MonitorView,
  OperationsResult,
  OpsStats,
  RegistryEvent,
  ScheduleItem,
  ShadowComparison,
  Traffic,
  VersionRecord,
  VersionStatus,
  WorkspaceInfo
} from './generated/models';

export type { Severity, VersionState } from './generated/models';

export type IFinding = Finding;
/** Path relative to the server root. */
export type ILintReport = LintReport;
export type IVersionRecord = VersionRecord;
export type ITraffic = Traffic;
export type IRegistryEvent = RegistryEvent;
export type IVersionStatus = VersionStatus;
export type IRetrainStatus = ScheduleItem;
export type IDeploymentStatus = DeploymentStatus;
/** `GET deployments` */
export type IDeploymentList = DeploymentList;
export type IFeatureDrift = FeatureDrift;
export type IDriftResult = DriftResult;
export type IMetricWindow = MetricWindow;
export type IConceptDrift = ConceptDriftResult;
/** Accuracy estimated from calibrated scores alone, before labels arrive. */
export type IEstimatedPerformance = EstimatedPerformance;
export type IGroupRates = GroupRates;
export type IFairnessAttribute = FairnessAttribute;
export type IFairness = FairnessResult;
export type IOpsStats = OpsStats;
export type IOperations = OperationsResult;
/** The REST monitor route adds one judgement per metric (`MonitorView`); the dashboard sends them beside. */
export type IMonitorReport = MonitorReport & { judgements?: Record<string, IJudgement> };
/** `GET deployments/NAME/monitor` */
export type IMonitorView = MonitorView;
/** `GET deployments/NAME/drift` */
export type IDriftSeries = DriftSeries;
export type IAlertEvent = AlertEvent;
/** `GET alerts` */
export type IAlertList = AlertList;
export type IAgreement = Agreement;
export type ILabelledComparison = LabelledComparison;
/** `GET deployments/NAME/shadow` */
export type IShadowComparison = ShadowComparison;
/** `judgement.Judgement`: one state per metric, shared by every view. */
export type IJudgement = Judgement;
export type JudgementState = Judgement['state'];
export type IDashboardVersion = DashboardVersion;
/** `GET deployments/NAME/dashboard`: one refresh of the monitoring dashboard, for one version. */
export type IDashboard = Dashboard;
/** `GET info` */
export type IInfo = WorkspaceInfo;

/** Verdicts of `models.GateDecision` (recorded as `evidence.verdict` of a `gate` event). */
export type GateVerdict = 'pass' | 'blocked' | 'needs_approval';

/** The JSON body of every error answer (`Nb2prodError.to_dict()`, or jupyter_server's `{message}`). */
export interface IErrorBody {
  error?: string;
  message?: string;
  reason?: string;
  fix?: string | null;
  evidence?: Record<string, unknown>;
}

/** Command ids. */
export namespace CommandIDs {
  export const openLint = 'nb2prod:open-lint';
  export const openDeployments = 'nb2prod:open-deployments';
  export const openDrift = 'nb2prod:open-drift';
  export const openShadow = 'nb2prod:open-shadow';
  export const lintCurrent = 'nb2prod:lint-current';
  export const openDashboard = 'nb2prod:open-dashboard';
}

/** Widget ids (also used by the browser tests). */
export namespace PanelIDs {
  export const lint = 'nb2prod-lint-panel';
  export const deployments = 'nb2prod-deployments-panel';
  export const drift = 'nb2prod-drift-panel';
  export const shadow = 'nb2prod-shadow-panel';
  export const dashboard = 'nb2prod-dashboard';
}
