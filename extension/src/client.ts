/**
 * A typed client of the nb2prod REST API, independent of JupyterLab (its transport is injected),
 * so the same code runs in the panels and in the unit tests.
 */
import type {
  IAlertEvent,
  IAlertList,
  IDashboard,
  IDeploymentList,
  IDeploymentStatus,
  IDriftSeries,
  IErrorBody,
  IInfo,
  ILintReport,
  IMonitorView,
  IShadowComparison
} from './tokens';

/** What a transport answers: an HTTP status and the body text. */
export interface ITransportResponse {
  status: number;
  text(): Promise<string>;
}

/** Sends one request to `nb2prod/api/<endpoint>` (the endpoint includes its query string). */
export type Transport = (endpoint: string, init: { method: string; body?: string }) => Promise<ITransportResponse>;

/** An error answer of the API, with the server's one-line message and fix. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fix: string | null;
  readonly evidence: Record<string, unknown>;

  constructor(status: number, body: IErrorBody) {
    super(body.message || body.reason || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.error || (status >= 500 ? 'internal' : 'http');
    this.fix = body.fix ?? null;
    this.evidence = body.evidence ?? {};
  }

  /** One line for the panels: message, then the fix. */
  get display(): string {
    return this.fix ? `${this.message} — ${this.fix}` : this.message;
  }
}

/** Builds `path?key=value&…`, leaving out undefined values and encoding the rest. */
export function endpoint(path: string, query: Record<string, string | number | boolean | undefined> = {}): string {
  const parts = Object.entries(query)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `${path}?${parts.join('&')}` : path;
}

/** The path segment of a deployment name, encoded. */
function seg(name: string): string {
  if (!name) {
    throw new ApiError(400, { error: 'usage', message: 'no deployment selected', fix: 'pick a deployment' });
  }
  return encodeURIComponent(name);
}

export class Nb2prodClient {
  constructor(private readonly transport: Transport) {}

  /** Sends a request and decodes the JSON answer; a non-2xx answer raises `ApiError`. */
  async request<T>(path: string, method = 'GET', body?: unknown): Promise<T> {
    const response = await this.transport(path, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body)
    });
    const text = await response.text();
    let data: unknown = undefined;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = undefined;
      }
    }
    if (response.status < 200 || response.status >= 300) {
      const errorBody = data && typeof data === 'object' ? (data as IErrorBody) : { message: text.slice(0, 200) };
      throw new ApiError(response.status, errorBody);
    }
    if (data === undefined) {
      throw new ApiError(response.status, { error: 'bad_response', message: 'the server answered something that is not JSON' });
    }
    return data as T;
  }

  info(): Promise<IInfo> {
    return this.request<IInfo>('info');
  }

  /** Static lint of a notebook (path relative to the server root). */
  lint(path: string): Promise<ILintReport> {
    return this.request<ILintReport>(endpoint('lint', { path }));
  }

  /** Lint plus the re-execution check (runs the notebook twice in fresh kernels: slow). */
  lintWithRun(path: string): Promise<ILintReport> {
    return this.request<ILintReport>('lint', 'POST', { path, run: true });
  }

  async deployments(): Promise<IDeploymentStatus[]> {
    const body = await this.request<IDeploymentList>('deployments');
    return body.deployments;
  }

  async deployment(name: string, history = 100): Promise<IDeploymentStatus> {
    return this.request<IDeploymentStatus>(endpoint(`deployments/${seg(name)}`, { history }));
  }

  /** Make `version` live; `approve` is a human approving a shadow version the shadow gate sent for approval. */
  async promote(name: string, version: string, reason?: string, approve?: boolean): Promise<IDeploymentStatus> {
    return this.request<IDeploymentStatus>(`deployments/${seg(name)}/promote`, 'POST', { version, reason, approve });
  }

  async rollback(name: string, to?: string, reason?: string): Promise<IDeploymentStatus> {
    return this.request<IDeploymentStatus>(`deployments/${seg(name)}/rollback`, 'POST', { to, reason });
  }

  async canary(name: string, version: string, percent: number, reason?: string): Promise<IDeploymentStatus> {
    return this.request<IDeploymentStatus>(`deployments/${seg(name)}/canary`, 'POST', { version, percent, reason });
  }

  /** Without `nWindows` the server picks the bucket count from the window (a day: 24 hourly buckets). */
  async monitor(name: string, window = '1h', nWindows?: number): Promise<IMonitorView> {
    return this.request<IMonitorView>(endpoint(`deployments/${seg(name)}/monitor`, { window, n_windows: nWindows }));
  }

  /** Without `points` the server picks the bucket count from the window. */
  async driftSeries(name: string, window = '1d', points?: number): Promise<IDriftSeries> {
    return this.request<IDriftSeries>(endpoint(`deployments/${seg(name)}/drift`, { window, points }));
  }

  /** Live vs shadow (or `candidate`) on the same requests; `window` like `1h`, `1d`, or undefined for since the shadow started. */
  async shadow(name: string, window?: string, candidate?: string): Promise<IShadowComparison> {
    return this.request<IShadowComparison>(endpoint(`deployments/${seg(name)}/shadow`, { window, candidate }));
  }

  /** One dashboard refresh of `version` (default: the live one) over `window`; the server picks the bucket width. */
  async dashboard(name: string, window = '1d', version?: string): Promise<IDashboard> {
    return this.request<IDashboard>(endpoint(`deployments/${seg(name)}/dashboard`, { window, version: version || undefined }));
  }

  async alerts(name?: string, limit = 50): Promise<IAlertEvent[]> {
    const body = await this.request<IAlertList>(endpoint('alerts', { name, limit }));
    return body.alerts;
  }
}
