/* eslint-disable */
/**
 * The JSON of the nb2prod REST API, generated from the Python records: do not edit.
 * Regenerate with `./dev types` (python -m nb2prod.server.schema, then jlpm types).
 * schema sha256: fc780226262b8baebabcb31bd3e54c601a026b677a6496b9832fb6ce36369606
 */

/**
 * Any answer of the nb2prod REST API (generated from nb2prod's records: do not edit).
 */
export type RestAnswer =
  | LintReport
  | DeploymentList
  | DeploymentStatus
  | MonitorView
  | DriftSeries
  | ShadowComparison
  | Dashboard
  | AlertList
  | WorkspaceInfo;
/**
 * Lint severities, ordered: ``error`` > ``warning`` > ``info``.
 */
export type Severity = "info" | "warning" | "error";
/**
 * Where a version stands in its deployment's traffic.
 */
export type VersionState = "candidate" | "live" | "shadow" | "canary" | "control" | "retired" | "refused";

/**
 * All findings for one notebook.
 */
export interface LintReport {
  path: string;
  findings: Finding[];
  executed: boolean;
}
/**
 * One lint finding, located in a notebook cell.
 */
export interface Finding {
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
/**
 * ``GET deployments``: every deployment with its routing and versions.
 */
export interface DeploymentList {
  deployments: DeploymentStatus[];
}
/**
 * A deployment: its routing, its versions (newest first) and, when asked for, its history (newest first).
 */
export interface DeploymentStatus {
  name: string;
  traffic: Traffic;
  versions: VersionStatus[];
  events: RegistryEvent[];
  retrain: ScheduleItem | null;
  rollback_stops: string | null;
  rollback_target: string | null;
}
/**
 * Which versions of a deployment receive traffic, and how much.
 */
export interface Traffic {
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
/**
 * One version of a deployment as the panels show it: its record, state, share of traffic (percent) and the
 * traffic actions it allows now (``promote``, ``canary``, ``shadow``, ``control``, ``rollback`` — to it).
 */
export interface VersionStatus {
  record: VersionRecord;
  state: VersionState;
  traffic_percent: number;
  actions: string[];
}
/**
 * Everything that identifies one deployed model version.
 *
 * Ties the data fingerprint, notebook/code fingerprint, model hash and environment lock
 * together; every audit row carries ``version_id``.
 */
export interface VersionRecord {
  version_id: string;
  name: string;
  created_at: string;
  model_hash: string;
  data_fingerprint: {
    [k: string]: unknown;
  };
  code_fingerprint: {
    [k: string]: unknown;
  };
  environment: {
    [k: string]: unknown;
  };
  schema: {
    [k: string]: unknown;
  };
  metrics: {
    [k: string]: unknown;
  };
  lint: {
    [k: string]: unknown;
  };
  parent: string | null;
  bento_tag: string | null;
  model_tag: string | null;
  deployment_dir: string | null;
  params: {
    [k: string]: unknown;
  };
  extra: {
    [k: string]: unknown;
  };
}
/**
 * One step in a deployment's history: deploy, gate, promote, canary, rollback…
 */
export interface RegistryEvent {
  name: string;
  action: string;
  version_id: string | null;
  actor: string;
  reason: string;
  evidence: {
    [k: string]: unknown;
  };
  ts: number;
  id: number | null;
}
/**
 * One deployment's retraining status: its live version's age, expiry and the alerts that make it due.
 */
export interface ScheduleItem {
  name: string;
  live_version: string | null;
  age_days: number | null;
  expired: boolean;
  due: boolean;
  reasons: string[];
  policy: RetrainPolicy | null;
}
/**
 * When a model must be retrained and how its candidate is promoted.
 *
 * ``max_age_days``: the live version expires that many days after it was created.
 * ``on_alerts``: alert rule names or metrics (e.g. ``"data drift"``, ``"concept.score"``) that
 * make a retrain due when they fire after the live version was deployed. ``auto_promote``:
 * promote the candidate as soon as the shadow gate passes (else wait for a human).
 * ``parameters``: papermill parameters every retrain run gets; ``cron``: the CronJob schedule.
 */
export interface RetrainPolicy {
  name: string;
  max_age_days: number | null;
  on_alerts: string[];
  auto_promote: boolean;
  parameters: {
    [k: string]: unknown;
  };
  notebook: string | null;
  cron: string;
}
/**
 * ``GET deployments/NAME/monitor``: the monitoring report with one judgement per metric, as every view colours it.
 */
export interface MonitorView {
  name: string;
  version_id: string | null;
  window: string;
  since: number | null;
  until: number;
  n: number;
  drift: DriftResult | null;
  concept: ConceptDriftResult | null;
  fairness: FairnessResult | null;
  operations: OperationsResult;
  estimated: EstimatedPerformance | null;
  business: {
    [k: string]: number | null;
  };
  metrics: {
    [k: string]: number | null;
  };
  drift_timeline: MetricWindow[];
  checks: AlertCheck[];
  elapsed_ms: number;
  notes: string[];
  versions: {
    [k: string]: number;
  };
  source: string;
  judgements: {
    [k: string]: Judgement;
  };
}
/**
 * Data drift of a deployment's live inputs in one window, per feature and overall.
 *
 * ``score`` is the share of features whose drift is detected (BH-adjusted p ≤ ``alpha`` *and*
 * effect ≥ ``min_effect``); ``detected`` is true when at least one feature drifted.
 */
export interface DriftResult {
  name: string;
  version_id: string | null;
  window: string;
  n_reference: number;
  n_current: number;
  features: FeatureDrift[];
  score: number;
  detected: boolean;
  alpha: number;
  min_effect: number;
  since: number | null;
  until: number | null;
  elapsed_ms: number;
}
/**
 * Drift of one feature between the reference sketch and a window of live inputs.
 *
 * ``test`` is the hypothesis test behind ``p_value`` (``ks`` for numeric features,
 * ``chi2`` — scipy's contingency test — for categorical ones); ``q_value`` is its
 * Benjamini–Hochberg adjustment across the features; ``effect`` is the effect size the
 * verdict also requires (normed Wasserstein for numeric, Jensen–Shannon for categorical).
 */
export interface FeatureDrift {
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
/**
 * Live metric (from feedback labels) against the validation metric, per window.
 *
 * ``score`` = max(0, validation − upper CI bound of the live metric) / validation for a
 * higher-is-better metric (mirrored for error metrics): 0 while the validation figure is
 * plausible live, else the relative degradation that the sampling noise cannot explain.
 * ``detections`` are the timestamps where ADWIN found a change in the error stream.
 */
export interface ConceptDriftResult {
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
  windows: MetricWindow[];
  detections: number[];
  window: string;
}
/**
 * A metric over one time window with its confidence interval (``low``..``high``).
 */
export interface MetricWindow {
  start: number;
  end: number;
  n: number;
  value: number | null;
  low: number | null;
  high: number | null;
}
/**
 * Fairness of a deployment's decisions in one window, per protected attribute.
 */
export interface FairnessResult {
  name: string;
  window: string;
  favorable: unknown;
  n: number;
  attributes: FairnessAttribute[];
}
/**
 * Disparate impact for one protected attribute: lowest / highest favourable-outcome rate.
 *
 * ``verdict``: ``adverse_impact`` when the ratio is below 0.8 (four-fifths rule),
 * ``ok`` when not, ``insufficient_data`` when a group has fewer than ``min_group_size`` rows.
 */
export interface FairnessAttribute {
  attribute: string;
  groups: GroupRates[];
  di_ratio: number | null;
  di_low: number | null;
  di_high: number | null;
  verdict: string;
  min_group_size: number;
  timeline: MetricWindow[];
}
/**
 * Rates for one group of a protected attribute, with 95% Wilson intervals.
 */
export interface GroupRates {
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
/**
 * Latency, throughput and failure rates overall, by version and by window.
 */
export interface OperationsResult {
  name: string;
  window: string;
  overall: OpsStats;
  by_version: OpsStats[];
  timeline: OpsStats[];
}
/**
 * Operational figures of a slice of traffic (one version, one window, or both).
 */
export interface OpsStats {
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
/**
 * Accuracy estimated from the model's calibrated scores alone, before labels arrive.
 *
 * Confidence-based estimation (as NannyML's CBPE): a decision on a row whose calibrated
 * positive probability is ``p`` is right with probability ``p`` (decided positive) or ``1 − p``.
 * The interval covers sampling noise only; it assumes the score → outcome relation seen on the
 * holdout still holds (covariate shift is fine, concept shift is what labels reveal). ``score``
 * is computed like the concept score. ``precision``/``recall``/``f1`` come from the expected
 * confusion matrix, ``roc_auc`` from the expected ROC curve (rows ranked by raw score).
 */
export interface EstimatedPerformance {
  name: string;
  version_id: string | null;
  validation: number | null;
  estimated: number | null;
  low: number | null;
  high: number | null;
  n: number;
  score: number | null;
  degraded: boolean;
  verdict: string;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  roc_auc: number | null;
  windows: MetricWindow[];
  metric: string;
  window: string;
}
/**
 * The outcome of evaluating one rule: ``firing``, ``ok``, ``insufficient_data`` or ``no_value``.
 */
export interface AlertCheck {
  rule: AlertRule;
  status: string;
  value: number | null;
  count: number;
  alert: AlertEvent | null;
  note: string;
}
/**
 * A declarative alert: fire when ``metric`` ``op`` ``threshold`` over ``window`` with ≥ ``min_count`` rows.
 */
export interface AlertRule {
  name: string;
  metric: string;
  threshold: number;
  op: string;
  window: string;
  min_count: number;
  cooldown_s: number | null;
}
/**
 * A fired alert rule.
 */
export interface AlertEvent {
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
/**
 * The state of one metric, the value as shown, the rows behind it and why.
 */
export interface Judgement {
  metric: string;
  state: "ok" | "warn" | "firing" | "insufficient";
  value: string;
  n: number;
  reason: string;
}
/**
 * ``GET deployments/NAME/drift``: per-feature drift in consecutive sub-windows, oldest first.
 */
export interface DriftSeries {
  name: string;
  window: string;
  series: DriftResult[];
}
/**
 * Live vs candidate on the same requests, read from the audit log.
 */
export interface ShadowComparison {
  name: string;
  live_version: string | null;
  candidate_version: string | null;
  overall: Agreement;
  flip_matrix: {
    [k: string]: {
      [k: string]: number;
    };
  };
  score_mean_abs_diff: number | null;
  score_ks_statistic: number | null;
  score_ks_p_value: number | null;
  live_scores: number[];
  candidate_scores: number[];
  segments: {
    [k: string]: {
      [k: string]: Agreement;
    };
  };
  labelled: LabelledComparison;
  candidate_errors: number;
  since: number | null;
  until: number | null;
  candidate_timeouts: number;
  shadowed: number;
  completeness: number | null;
}
/**
 * How often two models decided the same, with a 95% Wilson interval.
 */
export interface Agreement {
  n: number;
  agreement: number | null;
  low: number | null;
  high: number | null;
}
/**
 * Both models' accuracy on the same labelled requests, with McNemar's exact test.
 *
 * ``live_only`` counts requests only the live model got right, ``candidate_only`` those only
 * the candidate got right; ``p_value`` tests whether they differ.
 */
export interface LabelledComparison {
  n: number;
  live_accuracy: number | null;
  candidate_accuracy: number | null;
  live_only: number;
  candidate_only: number;
  p_value: number | null;
}
/**
 * ``GET deployments/NAME/dashboard``: one refresh of the monitoring dashboard, for one version.
 */
export interface Dashboard {
  name: string;
  version_id: string;
  state: VersionState;
  window: string;
  points: number;
  traffic: Traffic;
  versions: DashboardVersion[];
  monitor: MonitorReport;
  judgements: {
    [k: string]: Judgement;
  };
  drift_series: DriftResult[];
  shadow: ShadowComparison | null;
  alerts: AlertEvent[];
  notes: string[];
  server_ms: number;
}
/**
 * One version of the deployment in the dashboard's window; ``n`` is the predictions it answered there.
 */
export interface DashboardVersion {
  version_id: string;
  state: VersionState;
  traffic_percent: number;
  created_at: string;
  n: number;
}
/**
 * Everything monitoring knows about a deployment over one window.
 */
export interface MonitorReport {
  name: string;
  version_id: string | null;
  window: string;
  since: number | null;
  until: number;
  n: number;
  drift: DriftResult | null;
  concept: ConceptDriftResult | null;
  fairness: FairnessResult | null;
  operations: OperationsResult;
  estimated: EstimatedPerformance | null;
  business: {
    [k: string]: number | null;
  };
  metrics: {
    [k: string]: number | null;
  };
  drift_timeline: MetricWindow[];
  checks: AlertCheck[];
  elapsed_ms: number;
  notes: string[];
  versions: {
    [k: string]: number;
  };
  source: string;
}
/**
 * ``GET alerts``: recorded alerts, newest first.
 */
export interface AlertList {
  alerts: AlertEvent[];
}
/**
 * ``GET info``: where the workspace is and what it holds.
 */
export interface WorkspaceInfo {
  version: string;
  home: string;
  store: string;
  bentoml_home: string;
  deployments: string[];
  predictions: number;
  runs: number;
}
