// What a hostile or broken client can do at the HTTP level, over raw sockets: oversized headers
// and bodies, garbage, slowloris, idle connections; and keep-alive, pipelining and chunked
// bodies working as HTTP/1.1 says. Every wait is bounded so that a hang fails, not stalls.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, backends } from '../support/server.mjs';
import { RawConnection, rawRequest, rawGet, expectProblem, expectSecurityHeaders } from './lib.mjs';

const echoPath = '/api/v1/diagnostics/echo';
const shortTimeouts = { GUICHET_HTTP_READ_TIMEOUT_S: '1', GUICHET_HTTP_IDLE_TIMEOUT_S: '1' };
// A server with 1 s deadlines must have closed well within this.
const closeDeadlineMs = 5000;

function post(path, body, headers = {}) {
  const lines = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
  const all = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers };
  for (const [name, value] of Object.entries(all)) if (value !== undefined) lines.push(`${name}: ${value}`);
  return lines.join('\r\n') + '\r\n\r\n' + body;
}

/** The server answers a normal request on a new connection: it survived what came before. */
async function expectAlive(server) {
  const r = await rawRequest(server.port, rawGet('/healthz'));
  assert.equal(r.status, 200, 'the server still answers /healthz');
  assert.equal(server.process.exitCode, null, 'the server process is still running');
}

/** Opens, writes `data`, and returns the connection for the test to watch. */
async function openAndSend(server, data) {
  const connection = await RawConnection.open(server.port);
  if (data !== undefined) await connection.write(data);
  return connection;
}

for (const backend of backends()) {
  describe(`HTTP limits and deadlines (${backend})`, () => {
    let server;
    const connections = [];
    const open = async (data) => { const c = await openAndSend(server, data); connections.push(c); return c; };
    before(async () => { server = await startServer({ backend, env: shortTimeouts }); });
    after(async () => {
      for (const connection of connections) connection.destroy();
      await server?.stop();
    });

    test('request headers over 16 KiB: 431 header_too_large, then closed', async () => {
      const c = await open(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'a'.repeat(17000)}\r\n\r\n`);
      const r = await c.readResponse();
      expectProblem(r, 431, 'header_too_large');
      expectSecurityHeaders(r.headers, '431');
      await c.waitClosed({ timeoutMs: closeDeadlineMs });
      await expectAlive(server);
    });

    test('many small headers adding up past the limit are refused too', async () => {
      const headers = Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'v'.repeat(40)}`).join('\r\n');
      const c = await open(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n\r\n`);
      expectProblem(await c.readResponse(), 431, 'header_too_large');
      await c.waitClosed({ timeoutMs: closeDeadlineMs });
    });

    test('headers just under the limit are accepted', async () => {
      const r = await rawRequest(server.port, rawGet('/healthz', { 'X-Padding': 'a'.repeat(15000) }));
      assert.equal(r.status, 200, r.text);
    });

    test('a declared body over 1 MiB: 413 body_too_large before it is sent, then closed', async () => {
      const c = await open(post(echoPath, '{"message":"', { 'Content-Length': 1048577 }));
      const r = await c.readResponse();
      expectProblem(r, 413, 'body_too_large');
      expectSecurityHeaders(r.headers, '413');
      await c.waitClosed({ timeoutMs: closeDeadlineMs });
      await expectAlive(server);
    });

    test('a 413 names the request path and echoes the client request id', async () => {
      // The headers were read in full before the body was refused: both are known.
      const c = await open(post(echoPath, '{"message":"', { 'Content-Length': 1048577, 'X-Request-Id': 'big-body' }));
      const r = await c.readResponse();
      assert.deepEqual({ instance: r.body?.instance, requestId: r.headers.get('x-request-id') },
        { instance: echoPath, requestId: 'big-body' }, r.text);
    });

    test('a body of exactly 1 MiB is read and validated, not refused for size', async () => {
      const filler = 'x'.repeat(1048576 - '{"message":"x","count":1,"pad":""}'.length);
      const body = `{"message":"x","count":1,"pad":"${filler}"}`;
      assert.equal(Buffer.byteLength(body), 1048576);
      const c = await open(post(echoPath, body, { Connection: 'close' }));
      const r = await c.readResponse({ timeoutMs: 10000 });
      expectProblem(r, 422, 'validation_failed');
      assert.deepEqual(r.body.errors.map((e) => e.pointer), ['/pad']);
    });

    test('a chunked body growing past 1 MiB: 413 body_too_large, then closed', async () => {
      const c = await open(`POST ${echoPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        'Transfer-Encoding: chunked\r\n\r\n');
      const chunk = 'a'.repeat(65536);
      const frame = `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
      for (let i = 0; i < 17 && !c.closed; i += 1) await c.write(frame);
      const r = await c.readResponse({ timeoutMs: 10000 });
      expectProblem(r, 413, 'body_too_large');
      await c.waitClosed({ timeoutMs: closeDeadlineMs });
      await expectAlive(server);
    });

    test('a chunked body within the limit is read', async () => {
      const body = '{"message":"chunked","count":2}';
      const c = await open(`POST ${echoPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
        `${(10).toString(16)}\r\n${body.slice(0, 10)}\r\n${(body.length - 10).toString(16)}\r\n${body.slice(10)}\r\n0\r\n\r\n`);
      const r = await c.readResponse();
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.message, 'chunked');
    });

    const garbage = [
      ['a line that is not HTTP', 'HELLO THERE\r\n\r\n'],
      ['binary noise', Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a, 0x80, 0x81])],
      ['a TLS ClientHello', Buffer.from('160301020001000200030302aabbccdd0d0a0d0a', 'hex')],
      ['an unknown HTTP version', 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n'],
      ['a bad method token', 'G(E)T /healthz HTTP/1.1\r\nHost: x\r\n\r\n'],
      ['a header line without a colon', 'GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n'],
      ['a bad Content-Length', `POST ${echoPath} HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n`],
      ['two different Content-Lengths',
        `POST ${echoPath} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\n{}{}`],
      ['a bad chunk size', `POST ${echoPath} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`],
      ['a request line of 100 kB', `GET /${'a'.repeat(100000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
    ];
    for (const [what, data] of garbage) {
      test(`${what}: a 4xx problem or a closed connection, never a crash`, async () => {
        const c = await open(data);
        let response;
        try {
          response = await c.readResponse({ timeoutMs: closeDeadlineMs });
        } catch (error) {
          // Closing without an answer is allowed; hanging on to the connection is not.
          assert.ok(c.closed, `neither an answer nor a close: ${error.message}`);
        }
        if (response) {
          // 505 HTTP Version Not Supported is the one 5xx that describes the client's mistake.
          assert.ok((response.status >= 400 && response.status < 500) || response.status === 505,
            `got ${response.status} ${response.text}`);
          const code = response.status === 400 ? 'bad_request' : response.body?.code;
          expectProblem(response, response.status, code);
          await c.waitClosed({ timeoutMs: closeDeadlineMs });
        }
        await expectAlive(server);
      });
    }

    test('garbage instead of a request line is answered 400 bad_request', async () => {
      const c = await open('HELLO THERE\r\n\r\n');
      let response;
      try { response = await c.readResponse({ timeoutMs: closeDeadlineMs }); } catch { /* closed */ }
      if (response) expectProblem(response, 400, 'bad_request');
      else assert.ok(c.closed, 'closed without an answer, which the contract allows');
    });

    test('slowloris: a request that stops halfway through its headers is cut off', async () => {
      const c = await open('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
      await c.waitClosed({ timeoutMs: closeDeadlineMs });
      await expectAlive(server);
    });

    test('slowloris: headers trickled a byte at a time do not hold the connection open', async () => {
      const c = await open('GET /healthz HTTP/1.1\r\n');
      const header = 'X-Slow: ' + 'a'.repeat(200);
      let sent = 0;
      // One byte every 100 ms resets any per-read timer; the deadline must cover the request.
      const timer = setInterval(() => { if (!c.closed && sent < header.length) c.write(header[sent++]); }, 100);
      try {
        await c.waitClosed({ timeoutMs: closeDeadlineMs + 3000 });
      } finally {
        clearInterval(timer);
      }
      assert.ok(sent < header.length, 'closed before the trickle ended');
    });

    test('a body that stops before its Content-Length is cut off', async () => {
      const c = await open(post(echoPath, '{"message":"x",', { 'Content-Length': 100 }));
      let response;
      try { response = await c.readResponse({ timeoutMs: closeDeadlineMs }); } catch { /* closed */ }
      if (response) assert.equal(response.status, 408, `an answer before closing can only be 408: ${response.status}`);
      await c.waitClosed({ timeoutMs: closeDeadlineMs });
    });

    test('a connection that never sends anything is closed', async () => {
      const c = await open();
      await c.waitClosed({ timeoutMs: closeDeadlineMs });
    });

    test('an idle keep-alive connection is closed after its last response', async () => {
      const c = await open('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      const r = await c.readResponse();
      assert.equal(r.status, 200);
      await c.waitClosed({ timeoutMs: closeDeadlineMs });
    });

    test('keep-alive: several requests one after the other on one socket', async () => {
      const c = await open();
      for (let i = 0; i < 5; i += 1) {
        await c.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: ka-${i}\r\n\r\n`);
        const r = await c.readResponse();
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('x-request-id'), `ka-${i}`);
        assert.deepEqual(r.body, { status: 'ok' });
        assert.equal(c.closed, false, 'the connection stays open');
      }
      await c.write(post(echoPath, '{"message":"on the same socket","count":1}'));
      const echo = await c.readResponse();
      assert.equal(echo.status, 200, echo.text);
      assert.equal(echo.body.message, 'on the same socket');
    });

    test('keep-alive survives an error response', async () => {
      const c = await open();
      await c.write(post(echoPath, '{"count":0}'));
      expectProblem(await c.readResponse(), 422, 'validation_failed');
      await c.write('GET /no-such-thing HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n');
      expectProblem(await c.readResponse(), 404, 'not_found');
      await c.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      assert.equal((await c.readResponse()).status, 200);
    });

    test('pipelining: requests sent together are answered in order', async () => {
      const c = await open();
      const ids = ['p-1', 'p-2', 'p-3', 'p-4'];
      await c.write(
        `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${ids[0]}\r\n\r\n` +
        post(echoPath, '{"message":"slow","count":1,"delay_ms":300}', { 'X-Request-Id': ids[1] }) +
        `GET /readyz HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${ids[2]}\r\n\r\n` +
        `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${ids[3]}\r\nConnection: close\r\n\r\n`);
      const answers = [];
      for (let i = 0; i < ids.length; i += 1) answers.push(await c.readResponse());
      assert.deepEqual(answers.map((a) => a.headers.get('x-request-id')), ids);
      assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200]);
      assert.equal(answers[1].body.message, 'slow');
      assert.equal(answers[2].body.status, 'ready');
      await c.waitClosed({ timeoutMs: closeDeadlineMs });
    });

    test('Connection: close is honoured', async () => {
      const c = await open(rawGet('/healthz'));
      const r = await c.readResponse();
      assert.equal(r.status, 200);
      await c.waitClosed({ timeoutMs: 2000 });
    });

    test('HTTP/1.0 without Host gets an answer and the connection closes', async () => {
      const c = await open('GET /healthz HTTP/1.0\r\n\r\n');
      const r = await c.readResponse();
      assert.equal(r.status, 200);
      await c.waitClosed({ timeoutMs: 2000 });
    });

    test('many connections opened and dropped at once leave the server healthy', async () => {
      const batch = await Promise.all(Array.from({ length: 100 }, () => RawConnection.open(server.port)));
      batch.forEach((c, i) => { if (i % 2) c.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'); });
      batch.forEach((c) => c.destroy());
      await expectAlive(server);
    });
  });

  describe(`configured HTTP limits (${backend})`, () => {
    let server;
    before(async () => {
      server = await startServer({
        backend, env: { GUICHET_HTTP_BODY_BYTES_MAX: '65536', GUICHET_HTTP_HEADER_BYTES_MAX: '8192' },
      });
    });
    after(async () => { await server?.stop(); });

    test('GUICHET_HTTP_HEADER_BYTES_MAX lowers the header limit', async () => {
      const c = await RawConnection.open(server.port);
      try {
        await c.write(rawGet('/healthz', { 'X-Padding': 'a'.repeat(10000) }));
        expectProblem(await c.readResponse(), 431, 'header_too_large');
        await c.waitClosed({ timeoutMs: closeDeadlineMs });
      } finally { c.destroy(); }
      const ok = await rawRequest(server.port, rawGet('/healthz', { 'X-Padding': 'a'.repeat(6000) }));
      assert.equal(ok.status, 200);
    });

    test('GUICHET_HTTP_BODY_BYTES_MAX lowers the body limit', async () => {
      const small = `{"message":"x","count":1,"pad":"${'p'.repeat(60000)}"}`;
      const accepted = await rawRequest(server.port, post(echoPath, small, { Connection: 'close' }));
      expectProblem(accepted, 422, 'validation_failed');   // read in full, then refused for /pad
      const c = await RawConnection.open(server.port);
      try {
        await c.write(post(echoPath, `{"message":"${'m'.repeat(70000)}","count":1}`));
        expectProblem(await c.readResponse(), 413, 'body_too_large');
        await c.waitClosed({ timeoutMs: closeDeadlineMs });
      } finally { c.destroy(); }
    });
  });
}
