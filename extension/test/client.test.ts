/** Unit tests of the REST client: URLs, bodies, JSON decoding and the error mapping. */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ApiError, endpoint, Nb2prodClient, Transport } from '../src/client';

interface ICall {
  endpoint: string;
  method: string;
  body?: string;
}

function fake(status: number, body: unknown): { client: Nb2prodClient; calls: ICall[] } {
  const calls: ICall[] = [];
  const transport: Transport = async (path, init) => {
    calls.push({ endpoint: path, ...init });
    return { status, text: async () => (typeof body === 'string' ? body : JSON.stringify(body)) };
  };
  return { client: new Nb2prodClient(transport), calls };
}

test('endpoint encodes the query and leaves out undefined values', () => {
  assert.equal(endpoint('lint', { path: 'a b/ü.ipynb' }), 'lint?path=a%20b%2F%C3%BC.ipynb');
  assert.equal(endpoint('alerts', { name: undefined, limit: 5 }), 'alerts?limit=5');
  assert.equal(endpoint('deployments'), 'deployments');
});

test('lint is a GET with the path; the re-execution check is a POST with run=true', async () => {
  const report = { path: 'nb.ipynb', findings: [], executed: false };
  const { client, calls } = fake(200, report);
  assert.deepEqual(await client.lint('dir/nb.ipynb'), report);
  await client.lintWithRun('dir/nb.ipynb');
  assert.deepEqual(calls[0], { endpoint: 'lint?path=dir%2Fnb.ipynb', method: 'GET', body: undefined });
  assert.equal(calls[1].method, 'POST');
  assert.deepEqual(JSON.parse(calls[1].body as string), { path: 'dir/nb.ipynb', run: true });
});

test('traffic actions POST to the deployment, names are path-encoded', async () => {
  const { client, calls } = fake(200, { name: 'credit', traffic: {}, versions: [], events: [] });
  await client.promote('credit', 'credit-v2', 'why');
  await client.canary('credit', 'credit-v3', 10);
  await client.rollback('a/b');
  assert.equal(calls[0].endpoint, 'deployments/credit/promote');
  assert.deepEqual(JSON.parse(calls[0].body as string), { version: 'credit-v2', reason: 'why' });
  assert.deepEqual(JSON.parse(calls[1].body as string), { version: 'credit-v3', percent: 10 });
  assert.equal(calls[2].endpoint, 'deployments/a%2Fb/rollback');
});

test('promote sends approve only when given; the shadow comparison carries window and candidate', async () => {
  const { client, calls } = fake(200, { name: 'credit', overall: { n: 0 } });
  await client.promote('credit', 'credit-v4', 'better on outcomes', true);
  await client.shadow('credit', '1d');
  await client.shadow('a b', 'all', 'credit-v4');
  await client.shadow('credit');
  assert.equal(calls[0].endpoint, 'deployments/credit/promote');
  assert.deepEqual(JSON.parse(calls[0].body as string), { version: 'credit-v4', reason: 'better on outcomes', approve: true });
  assert.deepEqual(calls.slice(1).map(c => [c.endpoint, c.method]), [
    ['deployments/credit/shadow?window=1d', 'GET'],
    ['deployments/a%20b/shadow?window=all&candidate=credit-v4', 'GET'],
    ['deployments/credit/shadow', 'GET']
  ]);
});

test('a missing shadow version is a 404 ApiError with the fix', async () => {
  const { client } = fake(404, { error: 'not_found', message: "'credit' has no shadow version", fix: 'start one with `nb2prod shadow credit:VERSION`' });
  await assert.rejects(client.shadow('credit', '1d'), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 404);
    assert.match(error.display, /no shadow version — start one/);
    return true;
  });
});

test('list answers are unwrapped', async () => {
  const { client } = fake(200, { deployments: [{ name: 'credit' }], alerts: [{ rule: 'r' }] });
  assert.deepEqual((await client.deployments()).map(d => d.name), ['credit']);
  assert.deepEqual((await client.alerts('credit')).map(a => a.rule), ['r']);
});

test('monitoring queries carry the window; the bucket count is left to the server unless given', async () => {
  const { client, calls } = fake(200, { series: [] });
  await client.monitor('credit', '7d');
  await client.driftSeries('credit', 'all', 6);
  await client.driftSeries('credit', '1d');
  await client.dashboard('credit', '1h', 'credit-v2');
  await client.dashboard('credit', '1d', '');
  assert.equal(calls[0].endpoint, 'deployments/credit/monitor?window=7d');
  assert.equal(calls[1].endpoint, 'deployments/credit/drift?window=all&points=6');
  assert.equal(calls[2].endpoint, 'deployments/credit/drift?window=1d');
  assert.equal(calls[3].endpoint, 'deployments/credit/dashboard?window=1h&version=credit-v2');
  assert.equal(calls[4].endpoint, 'deployments/credit/dashboard?window=1d', 'no version: the live one');
});

test('an nb2prod error answer becomes an ApiError with message, code and fix', async () => {
  const { client } = fake(404, { error: 'not_found', message: "no deployment named 'x'", fix: 'deploy one with %deploy' });
  await assert.rejects(client.deployment('x'), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 404);
    assert.equal(error.code, 'not_found');
    assert.equal(error.display, "no deployment named 'x' — deploy one with %deploy");
    return true;
  });
});

test("jupyter_server's own error body and a non-JSON body still give a message", async () => {
  await assert.rejects(fake(403, { message: 'Forbidden', reason: null }).client.info(), /Forbidden/);
  await assert.rejects(fake(502, '<html>Bad gateway</html>').client.info(), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, 'internal');
    assert.match(error.message, /Bad gateway/);
    return true;
  });
  await assert.rejects(fake(200, 'not json').client.info(), /not JSON/);
});

test('a gate refusal keeps its evidence', async () => {
  const evidence = { checks: [{ check: 'threshold', passed: false }] };
  const { client } = fake(409, { error: 'gate_refused', message: 'refused', fix: 'improve', evidence });
  await assert.rejects(client.promote('credit', 'v1'), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.deepEqual(error.evidence, evidence);
    return true;
  });
});

test('an empty deployment name is refused before any request', async () => {
  const { client, calls } = fake(200, {});
  await assert.rejects(client.deployment(''), /no deployment selected/);
  assert.equal(calls.length, 0);
});
