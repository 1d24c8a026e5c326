/**
 * Types mirroring the JSON of the nb2prod REST API (`nb2prod/api/...`).
 *
 * Each interface matches a Python dataclass's `to_dict()` in `nb2prod.models`; keep them in step.
 */

export type Severity = 'error' | 'warning' | 'info';

export type VersionState =
  | 'candidate'
  | 'live'
  | 'shadow'
  | 'canary'
  | 'control'
  | 'retired'
  | 'refused';

/** `models.Finding` */
export interface IFinding {
  rule: string;
  severity: Severity;
  message: string;
  path: string;
  cell_index: number | null;
  cell_id: string | null;
  line: number | null;
  fix: string | null;
  evidence: string | null;
}

/** `models.LintReport` (path relative to the server root). */
export interface ILintReport {
  path: string;
  findings: IFinding[];
  executed: boolean;
}

/** `models.VersionRecord` */
export interface IVersionRecord {
  version_id: string;
  name: string;
  created_at: string;
  model_hash: string;
  data_fingerprint: Record<string, unknown>;
  code_fingerprint: Record<string, unknown>;
  environment: Record<string, unknown>;
  schema: Record<string, unknown>;
  metrics: Record<string, unknown>;
  lint: Record<string, unknown>;
  parent: string | null;
  bento_tag: string | null;
  model_tag: string | null;
  deployment_dir: string | null;
  params: Record<string, unknown>;
  extra: Record<string, unknown>;
}

/** `models.Traffic` */
export interface ITraffic {
  name: string;
  live: string | null;
  shadow: string | null;
  shadow_percent: number;
  canary: string | null;
  canary_percent: number;
  control: string | null;
  control_percent: number;
  updated_at: number;
}

/** `models.RegistryEvent` */
export interface IRegistryEvent {
  name: string;
  action: string;
  version_id: string | null;
  actor: string;
  reason: string;
  evidence: Record<string, unknown>;
  ts: number;
  id: number | null;
}

/** `models.VersionStatus` */
export interface IVersionStatus {
  record: IVersionRecord;
  state: VersionState;
  traffic_percent: number;
}

/** `models.ScheduleItem` (the fields the panels show) */
export interface IRetrainStatus {
  name: string;
  live_version: string | null;
  age_days: number | null;
  expired: boolean;
  due: boolean;
  reasons: string[];
}

/** `models.DeploymentStatus` */
export interface IDeploymentStatus {
  name: string;
  traffic: ITraffic;
  versions: IVersionStatus[];
  events: IRegistryEvent[];
  retrain?: IRetrainStatus | null;
}

/** `models.FeatureDrift` */
export interface IFeatureDrift {
  feature: string;
  kind: string;
  test: string;
  statistic: number;
  p_value: number;
  q_value: number;
  effect_name: string;
  effect: number;
  psi: number;
  drifted: boolean;
  n_reference: number;
  n_current: number;
  missing_reference: number;
  missing_current: number;
  unseen: string[];
}

/** `models.DriftResult` */
export interface IDriftResult {
  name: string;
  version_id: string | null;
  window: string;
  n_reference: number;
  n_current: number;
  features: IFeatureDrift[];
  score: number;
  detected: boolean;
  alpha: number;
  min_effect: number;
  since: number | null;
  until: number | null;
  elapsed_ms: number;
}

/** `models.MetricWindow` */
export interface IMetricWindow {
  start: number;
  end: number;
  n: number;
  value: number | null;
  low: number | null;
  high: number | null;
}

/** `models.ConceptDriftResult` */
export interface IConceptDrift {
  name: string;
  version_id: string | null;
  metric: string;
  validation: number | null;
  higher_is_better: boolean;
  n_predictions: number;
  n_labelled: number;
  live: number | null;
  live_low: number | null;
  live_high: number | null;
  gap: number | null;
  score: number | null;
  degraded: boolean;
  verdict: string;
  windows: IMetricWindow[];
  detections: number[];
  window: string;
}

/** `models.EstimatedPerformance`: accuracy estimated from calibrated scores alone, before labels arrive. */
export interface IEstimatedPerformance {
  name: string;
  version_id: string | null;
  validation: number | null;
  estimated: number | null;
  low: number | null;
  high: number | null;
  n: number;
  score: number | null;
  degraded: boolean;
  verdict: 'ok' | 'degraded' | 'no_validation_metric' | 'insufficient_data' | 'no_calibration';
  precision: number | null;
  recall: number | null;
  f1: number | null;
  roc_auc: number | null;
  windows: IMetricWindow[];
  metric: string;
  window: string;
}

/** `models.GroupRates` */
export interface IGroupRates {
  group: string;
  n: number;
  selection_rate: number;
  selection_low: number;
  selection_high: number;
  n_labelled: number;
  tpr: number | null;
  fpr: number | null;
  error_rate: number | null;
  error_low: number | null;
  error_high: number | null;
}

/** `models.FairnessAttribute` */
export interface IFairnessAttribute {
  attribute: string;
  groups: IGroupRates[];
  di_ratio: number | null;
  di_low: number | null;
  di_high: number | null;
  verdict: string;
  min_group_size: number;
  timeline: IMetricWindow[];
}

/** `models.FairnessResult` */
export interface IFairness {
  name: string;
  window: string;
  favorable: unknown;
  n: number;
  attributes: IFairnessAttribute[];
}

/** `models.OpsStats` */
export interface IOpsStats {
  start: number;
  end: number;
  n: number;
  version_id: string | null;
  throughput_rps: number;
  latency_p50_ms: number | null;
  latency_p90_ms: number | null;
  latency_p95_ms: number | null;
  latency_p99_ms: number | null;
  error_rate: number;
  fallback_rate: number;
  violation_rate: number;
  override_rate: number;
}

/** `models.OperationsResult` */
export interface IOperations {
  name: string;
  window: string;
  overall: IOpsStats;
  by_version: IOpsStats[];
  timeline: IOpsStats[];
}

/** `models.MonitorReport` */
export interface IMonitorReport {
  name: string;
  version_id: string | null;
  window: string;
  since: number | null;
  until: number;
  n: number;
  drift: IDriftResult | null;
  concept: IConceptDrift | null;
  estimated: IEstimatedPerformance | null;
  fairness: IFairness | null;
  operations: IOperations;
  business: Record<string, number | null>;
  metrics: Record<string, number | null>;
  drift_timeline: IMetricWindow[];
  notes: string[];
  elapsed_ms: number;
  /** One judgement per metric (the REST monitor route adds them; the dashboard sends them beside). */
  judgements?: Record<string, IJudgement>;
}

/** `GET deployments/NAME/drift` */
export interface IDriftSeries {
  name: string;
  window: string;
  series: IDriftResult[];
}

/** `models.AlertEvent` */
export interface IAlertEvent {
  name: string;
  rule: string;
  metric: string;
  value: number;
  threshold: number;
  window: string;
  ts: number;
  delivered: boolean;
  id: number | null;
}

/** `models.Agreement`: share of requests both models decided the same, with a 95% Wilson interval. */
export interface IAgreement {
  n: number;
  agreement: number | null;
  low: number | null;
  high: number | null;
}

/** `models.LabelledComparison`: both models on the same labelled requests, McNemar's exact test. */
export interface ILabelledComparison {
  n: number;
  live_accuracy: number | null;
  candidate_accuracy: number | null;
  live_only: number;
  candidate_only: number;
  p_value: number | null;
}

/** `models.ShadowComparison` (`GET deployments/NAME/shadow`). */
export interface IShadowComparison {
  name: string;
  live_version: string | null;
  candidate_version: string | null;
  overall: IAgreement;
  /** live decision → candidate decision → requests */
  flip_matrix: Record<string, Record<string, number>>;
  score_mean_abs_diff: number | null;
  score_ks_statistic: number | null;
  score_ks_p_value: number | null;
  live_scores: number[];
  candidate_scores: number[];
  /** segment column → value → agreement */
  segments: Record<string, Record<string, IAgreement>>;
  labelled: ILabelledComparison;
  candidate_errors: number;
  since: number | null;
  until: number | null;
  /** Shadow answers that missed their deadline: not compared, not counted as errors. */
  candidate_timeouts?: number;
  /** Rows the candidate was asked to shadow (compared + errors + timeouts). */
  shadowed?: number;
  /** Share of shadowed rows that produced a comparison. */
  completeness?: number | null;
}

/** `judgement.Judgement`: one state per metric, shared by every view. */
export type JudgementState = 'ok' | 'warn' | 'firing' | 'insufficient';

export interface IJudgement {
  metric: string;
  state: JudgementState;
  value: string;
  n: number;
  reason: string;
}

/** One version of the deployment in the dashboard's window. */
export interface IDashboardVersion {
  version_id: string;
  state: VersionState;
  traffic_percent: number;
  created_at: string;
  /** Predictions this version answered in the window. */
  n: number;
}

/** `GET deployments/NAME/dashboard`: one refresh of the monitoring dashboard, for one version. */
export interface IDashboard {
  name: string;
  version_id: string;
  state: VersionState;
  window: string;
  points: number;
  traffic: ITraffic;
  versions: IDashboardVersion[];
  monitor: IMonitorReport;
  judgements: Record<string, IJudgement>;
  drift_series: IDriftResult[];
  shadow: IShadowComparison | null;
  alerts: IAlertEvent[];
  notes: string[];
  server_ms: number;
}

/** Verdicts of `models.GateDecision` (recorded as `evidence.verdict` of a `gate` event). */
export type GateVerdict = 'pass' | 'blocked' | 'needs_approval';

/** `GET info` */
export interface IInfo {
  version: string;
  home: string;
  store: string;
  deployments: string[];
  predictions: number;
  runs: number;
}

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
