// Small helpers shared by the API tests: JSON requests with a deadline, problem+json checks,
// raw HTTP/1.1 over a socket (for what fetch cannot send), polling with a deadline, and a
// Prometheus text parser.
import assert from 'node:assert/strict';
import net from 'node:net';

/** Deadline of one ordinary HTTP request made by a test. */
export const requestTimeoutMs = 10000;

/**
 * Sends one request with fetch and reads the whole answer.
 * `json` is serialised with `Content-Type: application/json`; `body` is sent as is (pass a
 * Buffer to send no Content-Type at all: fetch adds text/plain to strings).
 */
export async function request(server, method, path, { json, body, headers = {}, timeoutMs } = {}) {
  const init = { method, headers: { ...headers }, redirect: 'manual' };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    if (!Object.keys(init.headers).some((name) => name.toLowerCase() === 'content-type')) {
      init.headers['content-type'] = 'application/json';
    }
  } else if (body !== undefined) {
    init.body = body;
  }
  init.signal = AbortSignal.timeout(timeoutMs ?? requestTimeoutMs);
  const res = await fetch(server.url + path, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: parseJson(text) };
}

export const get = (server, path, options) => request(server, 'GET', path, options);
export const postJson = (server, path, json, options = {}) =>
  request(server, 'POST', path, { ...options, json });

function parseJson(text) {
  try { return JSON.parse(text); } catch { return undefined; }
}

/** What a reader would take for a leaked stack trace or a framework error page. */
const leakPattern = /\.(cpp|hpp|cc|h):\d+|std::|boost::|terminate called|#0 {1,2}0x|<html|<body/i;

/**
 * Asserts that `r` (from request() or readResponse()) is a problem+json answer with this status
 * and code, and returns the problem object.
 */
export function expectProblem(r, status, code, { instance } = {}) {
  const context = `${r.status} ${r.headers.get('content-type')} ${r.text.slice(0, 600)}`;
  assert.equal(r.status, status, `expected ${status} ${code}, got ${context}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json\b/i,
    `expected application/problem+json, got ${context}`);
  const problem = r.body;
  assert.ok(problem && typeof problem === 'object' && !Array.isArray(problem),
    `problem body is not a JSON object: ${context}`);
  assert.equal(problem.code, code, `expected code ${code}, got ${context}`);
  assert.equal(problem.status, status, `problem.status must equal the HTTP status: ${context}`);
  assert.equal(typeof problem.type, 'string', `problem.type must be a string: ${context}`);
  assert.ok(typeof problem.title === 'string' && problem.title.length > 0,
    `problem.title must be a non-empty string: ${context}`);
  assert.equal(typeof problem.detail, 'string', `problem.detail must be a string: ${context}`);
  if (instance !== undefined) assert.equal(problem.instance, instance, context);
  else assert.equal(typeof problem.instance, 'string', `problem.instance must be a string: ${context}`);
  const requestId = r.headers.get('x-request-id');
  assert.ok(requestId, 'every response carries X-Request-Id');
  assert.equal(problem.request_id, requestId, 'problem.request_id must equal X-Request-Id');
  assert.doesNotMatch(r.text, leakPattern, 'an error must not leak internals');
  return problem;
}

/** Asserts a 422 validation_failed whose `errors` name exactly these JSON Pointers. */
export function expectValidation(r, pointers, { instance } = {}) {
  const problem = expectProblem(r, 422, 'validation_failed', { instance });
  assert.ok(Array.isArray(problem.errors), `errors must be an array: ${r.text}`);
  for (const error of problem.errors) {
    assert.equal(typeof error.pointer, 'string', `each error has a pointer: ${r.text}`);
    assert.ok(typeof error.message === 'string' && error.message.length > 0,
      `each error has a message: ${r.text}`);
  }
  const got = [...new Set(problem.errors.map((error) => error.pointer))].sort();
  assert.deepEqual(got, [...pointers].sort(), `error pointers: ${r.text}`);
  return problem;
}

/** The security headers every response must carry. */
export function expectSecurityHeaders(headers, what = '') {
  const context = what ? ` (${what})` : '';
  assert.equal(headers.get('x-content-type-options'), 'nosniff', 'X-Content-Type-Options' + context);
  assert.equal(headers.get('x-frame-options'), 'DENY', 'X-Frame-Options' + context);
  assert.equal(headers.get('referrer-policy'), 'no-referrer', 'Referrer-Policy' + context);
  const csp = headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'self'/, 'Content-Security-Policy default-src' + context);
  assert.match(csp, /frame-ancestors 'none'/, 'Content-Security-Policy frame-ancestors' + context);
  assert.equal(headers.get('cross-origin-opener-policy'), 'same-origin',
    'Cross-Origin-Opener-Policy' + context);
  assert.ok(headers.get('x-request-id'), 'X-Request-Id' + context);
}

/**
 * Calls `probe` until it returns something truthy, and returns that. Fails with `what` and the
 * last value seen once `timeoutMs` has passed. Never a blind sleep: each round asks again.
 */
export async function pollUntil(probe, { timeoutMs = 10000, intervalMs = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${inspect(last)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function inspect(value) {
  try { return JSON.stringify(value)?.slice(0, 500); } catch { return String(value); }
}

/** Rejects with a clear message if `promise` has not settled within `ms`. */
export function withDeadline(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 over a socket

/**
 * One TCP connection to the server, for requests fetch refuses to send (bad request lines,
 * oversized headers, dot segments, pipelining) and for watching when the server closes.
 */
export class RawConnection {
  /** @returns {Promise<RawConnection>} */
  static open(port, { timeoutMs = 5000 } = {}) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      const timer = setTimeout(() => { socket.destroy(); reject(new Error('connect timed out')); },
        timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RawConnection(socket));
      });
      socket.once('error', (error) => { clearTimeout(timer); reject(error); });
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.closed = false;
    this.error = null;
    this.waiters = new Set();
    socket.on('data', (chunk) => { this.buffer = Buffer.concat([this.buffer, chunk]); this.notify(); });
    socket.on('error', (error) => { this.error = error; this.notify(); });
    socket.on('end', () => { this.closed = true; this.notify(); });
    socket.on('close', () => { this.closed = true; this.notify(); });
  }

  notify() { for (const waiter of this.waiters) waiter(); }

  /** Writes; a server that already closed makes this resolve with the error, not throw. */
  write(data) {
    return new Promise((resolve) => {
      if (this.socket.destroyed || !this.socket.writable) { resolve(new Error('socket closed')); return; }
      this.socket.write(data, (error) => resolve(error ?? null));
    });
  }

  /** Waits until `check()` returns a value other than undefined, or fails after `timeoutMs`. */
  waitFor(check, timeoutMs, what) {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        let value;
        try { value = check(); } catch (error) { done(); reject(error); return; }
        if (value !== undefined) { done(); resolve(value); }
      };
      const timer = setTimeout(() => { done(); reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)); },
        timeoutMs);
      const done = () => { clearTimeout(timer); this.waiters.delete(attempt); };
      this.waiters.add(attempt);
      attempt();
    });
  }

  /**
   * Reads the next complete response. Throws if the connection closes first or the deadline
   * passes. `head: true` for answers to HEAD, which have no body.
   */
  readResponse({ timeoutMs = 5000, head = false } = {}) {
    return this.waitFor(() => {
      const parsed = parseResponse(this.buffer, { head, closed: this.closed });
      if (parsed) { this.buffer = this.buffer.subarray(parsed.length); return parsed.response; }
      if (this.closed) {
        const detail = this.error ? ` (${this.error.code ?? this.error.message})` : '';
        throw new Error(`connection closed before a complete response${detail}; received: ` +
          JSON.stringify(this.buffer.toString('latin1').slice(0, 300)));
      }
      return undefined;
    }, timeoutMs, 'waiting for a response');
  }

  /** Resolves once the server has closed (FIN or RST); fails after `timeoutMs`. */
  waitClosed({ timeoutMs = 5000 } = {}) {
    return this.waitFor(() => (this.closed ? true : undefined), timeoutMs,
      'waiting for the server to close the connection');
  }

  destroy() { this.socket.destroy(); }
}

/**
 * Parses one HTTP/1.1 response at the start of `buffer`. Returns `{response, length}` or null if
 * incomplete. The response has `status`, `headers` (a Headers), `body` (Buffer), `text` and
 * `body` parsed as JSON when it is JSON (`json`).
 */
export function parseResponse(buffer, { head = false, closed = false } = {}) {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const statusLine = lines.shift();
  const match = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!match) throw new Error(`not an HTTP status line: ${JSON.stringify(statusLine)}`);
  const status = Number(match[2]);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  let offset = end + 4;
  let body;
  if (head || status === 204 || status === 304 || (status >= 100 && status < 200)) {
    body = Buffer.alloc(0);
  } else if (/\bchunked\b/i.test(headers.get('transfer-encoding') ?? '')) {
    const chunks = [];
    for (;;) {
      const lineEnd = buffer.indexOf('\r\n', offset);
      if (lineEnd < 0) return null;
      const size = parseInt(buffer.subarray(offset, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size');
      offset = lineEnd + 2;
      if (size === 0) {
        const trailerEnd = buffer.indexOf('\r\n', offset);  // no trailers expected
        if (trailerEnd < 0) return null;
        offset = trailerEnd + 2;
        break;
      }
      if (buffer.length < offset + size + 2) return null;
      chunks.push(buffer.subarray(offset, offset + size));
      offset += size + 2;
    }
    body = Buffer.concat(chunks);
  } else if (headers.has('content-length')) {
    const length = Number(headers.get('content-length'));
    if (buffer.length < offset + length) return null;
    body = buffer.subarray(offset, offset + length);
    offset += length;
  } else {
    if (!closed) return null;  // body delimited by the end of the connection
    body = buffer.subarray(offset);
    offset = buffer.length;
  }
  const text = body.toString('utf8');
  const response = { version: match[1], status, headers, raw: Buffer.from(body), text,
    body: parseJson(text) };
  return { response, length: offset };
}

/**
 * Sends `data` on a fresh connection and reads one response. The request should carry
 * `Connection: close` when the caller does not care about keep-alive.
 */
export async function rawRequest(port, data, { timeoutMs = 5000, head = false } = {}) {
  const connection = await RawConnection.open(port);
  try {
    await connection.write(data);
    return await connection.readResponse({ timeoutMs, head });
  } finally {
    connection.destroy();
  }
}

/** A GET request with `Connection: close` as raw text. */
export function rawGet(path, headers = {}) {
  const lines = [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return lines.join('\r\n') + '\r\n\r\n';
}

// ---------------------------------------------------------------------------------------------
// Prometheus text format

/** Parses exposition text into samples `{name, labels, value}`; comments are skipped. */
export function parseMetrics(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels = {};
    const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/g;
    for (const label of (match[2] ?? '').matchAll(labelPattern)) labels[label[1]] = label[2];
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** Samples named `name` whose labels include all of `labels`. */
export function findSamples(samples, name, labels = {}) {
  return samples.filter((sample) => sample.name === name &&
    Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
}

/** The value of the one sample matching, or undefined when there is none. */
export function sampleValue(samples, name, labels = {}) {
  const found = findSamples(samples, name, labels);
  assert.ok(found.length <= 1, `several samples match ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}
