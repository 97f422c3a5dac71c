// SIGTERM: requests in flight finish, new connections are refused, the process exits 0, and an
// idle keep-alive connection does not hold the exit back.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, backends } from '../support/server.mjs';
import { RawConnection, rawGet, rawRequest, withDeadline } from './lib.mjs';

const exitDeadlineMs = 10000;

/**
 * Tries a new connection: 'refused' if the server will not take it, 'served' if it answered
 * normally (the signal has not been handled yet).
 */
async function tryConnect(port) {
  let connection;
  try {
    connection = await RawConnection.open(port, { timeoutMs: 1000 });
  } catch (error) {
    if (error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET') return 'refused';
    throw error;
  }
  try {
    await connection.write(rawGet('/healthz'));
    const r = await connection.readResponse({ timeoutMs: 1000 });
    return r.status === 200 ? 'served' : 'refused';
  } catch {
    return 'refused';   // accepted by the kernel, then closed without an answer
  } finally {
    connection.destroy();
  }
}

for (const backend of backends()) {
  describe(`graceful shutdown with a request in flight (${backend})`, () => {
    let server;
    before(async () => { server = await startServer({ backend }); });
    after(async () => { await server?.stop(); });

    test('SIGTERM lets the in-flight request finish, refuses new connections, exits 0', async () => {
      const body = '{"message":"in flight","count":7,"delay_ms":1500}';
      const inFlight = await RawConnection.open(server.port);
      await inFlight.write(`POST /api/v1/diagnostics/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      let answered = false;
      const response = inFlight.readResponse({ timeoutMs: exitDeadlineMs })
        .finally(() => { answered = true; });
      response.catch(() => {});   // awaited below; this only keeps an early failure from being "unhandled"
      // The server reads connections in the order they come: once a later request is answered,
      // the echo has been read and is waiting out its delay.
      assert.equal((await rawRequest(server.port, rawGet('/healthz'))).status, 200);

      server.process.kill('SIGTERM');

      let refusedWhileDraining = false;
      while (!answered) {
        const outcome = await tryConnect(server.port);
        if (outcome === 'refused') { refusedWhileDraining = !answered; break; }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const r = await response;
      assert.equal(r.status, 200, `the in-flight echo completes: ${r.status} ${r.text}`);
      assert.deepEqual({ message: r.body.message, count: r.body.count }, { message: 'in flight', count: 7 });
      assert.ok(refusedWhileDraining, 'a new connection was refused while the echo was still running');

      const status = await withDeadline(server.exited, exitDeadlineMs, 'the server to exit after SIGTERM');
      assert.deepEqual(status, { code: 0, signal: null });
      assert.equal(await tryConnect(server.port), 'refused', 'nothing listens after the exit');
    });
  });

  describe(`graceful shutdown with an idle keep-alive connection (${backend})`, () => {
    let server;
    before(async () => {
      server = await startServer({ backend, env: { GUICHET_HTTP_IDLE_TIMEOUT_S: '120' } });
    });
    after(async () => { await server?.stop(); });

    test('an idle keep-alive connection does not delay the exit', async () => {
      const idle = await RawConnection.open(server.port);
      await idle.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      assert.equal((await idle.readResponse()).status, 200);
      assert.equal(idle.closed, false);

      server.process.kill('SIGTERM');
      const status = await withDeadline(server.exited, exitDeadlineMs,
        'the server to exit with an idle connection open (idle timeout 120 s)');
      assert.deepEqual(status, { code: 0, signal: null });
      await idle.waitClosed({ timeoutMs: 2000 });
      idle.destroy();
    });
  });
}
