// Health, readiness, system status, request ids, security headers and the router's own errors
// (404 not_found, 405 method_not_allowed), against each database backend.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, backends } from '../support/server.mjs';
import { get, request, postJson, expectProblem, expectSecurityHeaders } from './lib.mjs';

const requestIdPattern = /^[A-Za-z0-9._-]{1,64}$/;

for (const backend of backends()) {
  describe(`system routes (${backend})`, () => {
    let server;
    before(async () => { server = await startServer({ backend }); });
    after(async () => { await server?.stop(); });

    test('GET /healthz answers 200 {"status":"ok"}', async () => {
      const r = await get(server, '/healthz');
      assert.equal(r.status, 200, r.text);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/);
      assert.deepEqual(r.body, { status: 'ok' });
    });

    test('GET /readyz reports the backend and schema version', async () => {
      const r = await get(server, '/readyz');
      assert.equal(r.status, 200, r.text);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/);
      assert.equal(r.body.status, 'ready');
      assert.equal(r.body.database, backend);
      assert.ok(Number.isInteger(r.body.schema_version) && r.body.schema_version >= 1,
        `schema_version: ${r.text}`);
    });

    test('GET /api/v1/system/status describes the running server', async () => {
      const ready = await get(server, '/readyz');
      const first = await get(server, '/api/v1/system/status');
      assert.equal(first.status, 200, first.text);
      assert.match(first.headers.get('content-type') ?? '', /^application\/json\b/);
      const status = first.body;
      assert.ok(typeof status.version === 'string' && status.version.length > 0, first.text);
      assert.equal(status.backend, backend);
      assert.equal(status.schema_version, ready.body.schema_version);
      assert.ok(typeof status.uptime_s === 'number' && status.uptime_s >= 0, first.text);
      assert.ok(status.jobs && typeof status.jobs === 'object', first.text);
      for (const state of ['queued', 'running', 'succeeded', 'dead']) {
        assert.ok(Number.isInteger(status.jobs[state]) && status.jobs[state] >= 0,
          `jobs.${state}: ${first.text}`);
      }
      const second = await get(server, '/api/v1/system/status');
      assert.ok(second.body.uptime_s >= status.uptime_s, 'uptime never goes backwards');
    });

    test('a valid client X-Request-Id is echoed', async () => {
      for (const id of ['abc', 'A.b_c-9', 'x'.repeat(64), '0']) {
        const r = await get(server, '/healthz', { headers: { 'x-request-id': id } });
        assert.equal(r.headers.get('x-request-id'), id);
      }
    });

    test('an invalid client X-Request-Id is replaced by a fresh one', async () => {
      const seen = new Set();
      for (const id of ['x'.repeat(65), 'has space', 'semi;colon', '<script>', 'é', '']) {
        const r = await get(server, '/healthz', { headers: { 'x-request-id': id } });
        const answered = r.headers.get('x-request-id');
        assert.ok(answered, 'X-Request-Id present');
        assert.notEqual(answered, id, `${JSON.stringify(id)} must not be echoed`);
        assert.match(answered, requestIdPattern, 'a generated id is itself a valid id');
        seen.add(answered);
      }
      assert.equal(seen.size, 6, 'each request gets its own id');
    });

    test('generated request ids differ from one request to the next', async () => {
      const ids = new Set();
      for (let i = 0; i < 20; i += 1) ids.add((await get(server, '/healthz')).headers.get('x-request-id'));
      assert.equal(ids.size, 20);
      for (const id of ids) assert.match(id, requestIdPattern);
    });

    test('the request id of an error response is in its problem body', async () => {
      const r = await get(server, '/api/v1/nope', { headers: { 'x-request-id': 'trace-42' } });
      const problem = expectProblem(r, 404, 'not_found', { instance: '/api/v1/nope' });
      assert.equal(problem.request_id, 'trace-42');
    });

    test('security headers are on every kind of response', async () => {
      const cases = [
        ['GET', '/healthz'], ['GET', '/readyz'], ['GET', '/metrics'], ['GET', '/api/openapi.json'],
        ['GET', '/api/v1/system/status'], ['GET', '/api/v1/unknown'], ['DELETE', '/healthz'],
        ['GET', '/api/v1/diagnostics/jobs/abc'],
      ];
      for (const [method, path] of cases) {
        const r = await request(server, method, path);
        expectSecurityHeaders(r.headers, `${method} ${path} → ${r.status}`);
      }
      const invalid = await postJson(server, '/api/v1/diagnostics/echo', { count: 0 });
      expectSecurityHeaders(invalid.headers, 'POST echo → 422');
    });

    test('an unknown path answers 404 not_found problem+json', async () => {
      for (const path of ['/api/v1/does-not-exist', '/api/v2/system/status', '/api/v1/system/status/x']) {
        const r = await get(server, path, { headers: { accept: 'application/json' } });
        expectProblem(r, 404, 'not_found', { instance: path });
      }
    });

    test('a known path with the wrong method answers 405 with Allow', async () => {
      const cases = [
        ['DELETE', '/healthz', 'GET'], ['POST', '/readyz', 'GET'], ['PUT', '/api/v1/system/status', 'GET'],
        ['GET', '/api/v1/diagnostics/echo', 'POST'], ['DELETE', '/api/v1/diagnostics/jobs/1', 'GET'],
        ['PATCH', '/metrics', 'GET'],
      ];
      for (const [method, path, allowed] of cases) {
        const r = await request(server, method, path);
        expectProblem(r, 405, 'method_not_allowed', { instance: path });
        const allow = (r.headers.get('allow') ?? '').split(',').map((m) => m.trim().toUpperCase());
        assert.ok(allow.includes(allowed), `${method} ${path}: Allow ${r.headers.get('allow')} lists ${allowed}`);
        assert.ok(!allow.includes(method), `${method} ${path}: Allow must not list ${method}`);
      }
    });

    test('a query string does not change routing', async () => {
      const r = await get(server, '/healthz?verbose=1&x=%20');
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body, { status: 'ok' });
    });
  });

  describe(`diagnostics switched off (${backend})`, () => {
    let server;
    before(async () => { server = await startServer({ backend, env: { GUICHET_DIAGNOSTICS: 'false' } }); });
    after(async () => { await server?.stop(); });

    test('diagnostics routes do not exist when GUICHET_DIAGNOSTICS is false', async () => {
      const echo = await postJson(server, '/api/v1/diagnostics/echo', { message: 'hi', count: 1 });
      expectProblem(echo, 404, 'not_found');
      const jobs = await postJson(server, '/api/v1/diagnostics/jobs', {});
      expectProblem(jobs, 404, 'not_found');
      const job = await get(server, '/api/v1/diagnostics/jobs/1');
      expectProblem(job, 404, 'not_found');
    });

    test('the rest of the server still works', async () => {
      assert.equal((await get(server, '/healthz')).status, 200);
      assert.equal((await get(server, '/api/v1/system/status')).status, 200);
    });
  });
}
