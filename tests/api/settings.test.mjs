// Settings below their minimum are clamped when loaded (CONVENTIONS.md, "Limits and
// configuration"): a 0 must neither disable a deadline nor make the server spin or refuse work.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, backends } from '../support/server.mjs';
import { RawConnection, get, postJson, pollUntil } from './lib.mjs';

const zeroes = {
  GUICHET_HTTP_READ_TIMEOUT_S: '0', GUICHET_HTTP_IDLE_TIMEOUT_S: '0',
  GUICHET_JOBS_POLL_MS: '0', GUICHET_JOBS_BACKOFF_BASE_MS: '0',
};
// Clamped to 1 s, a deadline has long passed by then; disabled, it never would.
const closeDeadlineMs = 5000;

for (const backend of backends()) {
  describe(`settings below their minimum are clamped (${backend})`, () => {
    let server;
    const connections = [];
    before(async () => { server = await startServer({ backend, env: zeroes }); });
    after(async () => {
      for (const connection of connections) connection.destroy();
      await server?.stop();
    });

    test('requests are served normally with 0 s deadlines', async () => {
      const c = await RawConnection.open(server.port);
      connections.push(c);
      for (let i = 0; i < 3; i += 1) {
        await c.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        assert.equal((await c.readResponse()).status, 200);
      }
      const echo = await postJson(server, '/api/v1/diagnostics/echo', { message: 'x', count: 1 });
      assert.equal(echo.status, 200, echo.text);
    });

    test('GUICHET_HTTP_IDLE_TIMEOUT_S=0 still closes an idle connection', async () => {
      const c = await RawConnection.open(server.port);
      connections.push(c);
      await c.waitClosed({ timeoutMs: closeDeadlineMs });
    });

    test('GUICHET_HTTP_READ_TIMEOUT_S=0 still cuts off a stalled request', async () => {
      const c = await RawConnection.open(server.port);
      connections.push(c);
      await c.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      await c.waitClosed({ timeoutMs: closeDeadlineMs });
    });

    test('jobs still run and retry with a 0 ms poll interval and backoff base', async () => {
      const created = await postJson(server, '/api/v1/diagnostics/jobs', { fail_times: 1, max_attempts: 2 });
      assert.equal(created.status, 202, created.text);
      const job = await pollUntil(async () => {
        const j = (await get(server, `/api/v1/diagnostics/jobs/${created.body.id}`)).body;
        if (j.state === 'dead') throw new Error(`job died: ${JSON.stringify(j)}`);
        return j.state === 'succeeded' ? j : undefined;
      }, { timeoutMs: 10000, what: 'the job to succeed on its second attempt' });
      assert.equal(job.attempts, 2);
      assert.equal((await get(server, '/healthz')).status, 200, 'the server is responsive');
    });
  });
}
