/**
 * The JupyterLab transport of the nb2prod client: `requestAPI` over the server connection
 * (base URL, token and XSRF handled by `ServerConnection`).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { ApiError, ITransportResponse, Nb2prodClient } from './client';

/** Sends a request to `<base_url>/nb2prod/api/<endpoint>`. */
export async function requestAPI(
  endpoint: string,
  init: { method: string; body?: string } = { method: 'GET' },
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<ITransportResponse> {
  const url = URLExt.join(settings.baseUrl, 'nb2prod', 'api', endpoint);
  try {
    return await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(0, {
      error: 'network',
      message: `cannot reach the Jupyter server: ${(error as Error).message}`,
      fix: 'check that JupyterLab is still running'
    });
  }
}

/** A client bound to this JupyterLab's server. */
export function createClient(settings?: ServerConnection.ISettings): Nb2prodClient {
  return new Nb2prodClient((endpoint, init) => requestAPI(endpoint, init, settings));
}
