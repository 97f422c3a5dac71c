// SMS gateway simulator: a small local HTTP server speaking the provider protocol that
// platform/notify/sms.h describes, for tests and the demo. It is a simulator (no SMS leaves):
// it accepts, validates and stores submissions, drops duplicates by client_reference, serves
// what it received, and calls back signed delivery reports, "failed" for numbers configured as
// unreachable.
//
//   node tests/support/sms-gateway-simulator/server.mjs --port 0 --api-key KEY --secret S
//        [--unreachable +33699999999,+33700000000]
// prints "sms-gateway-simulator: listening on http://127.0.0.1:PORT".
//
// Simulator controls (not part of the provider protocol):
//   GET  /_simulator/messages        everything accepted, in order, with duplicates counted
//   POST /_simulator/mode {"status": 500, "count": 2}   answer the next submissions with 500
//   POST /_simulator/mode {"stall": 1}   accept and store the next submission, never answer it
//        (a client that dies waiting: its resubmission must be recognised as a duplicate)
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : fallback;
};
const apiKey = option('--api-key', 'simulator-key');
const secret = option('--secret', '');
const unreachable = new Set(option('--unreachable', '').split(',').filter(Boolean));
const messages = [];
const byReference = new Map();
let failures = { status: 0, count: 0, stall: 0 };
let nextId = 1;

function send(response, status, body) {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

async function readBody(request) {
  const chunks = [];
  let size = 0;
  for await (const chunk of request) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function report(message) {
  if (!message.callback_url) return;
  const failed = unreachable.has(message.to);
  const body = JSON.stringify({
    id: message.id, client_reference: message.client_reference,
    status: failed ? 'failed' : 'delivered', error: failed ? 'subscriber unreachable (simulated)' : undefined,
  });
  const signature = createHmac('sha256', secret).update(body).digest('hex');
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const answer = await fetch(message.callback_url, {
        method: 'POST', body, headers: { 'Content-Type': 'application/json', 'X-Guichet-Signature': signature },
      });
      message.report = { status: answer.status };
      if (answer.status < 500) return;
    } catch (error) {
      message.report = { error: String(error) };
    }
    await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
  }
}

async function submit(request, response) {
  if (request.headers.authorization !== `Bearer ${apiKey}`) return send(response, 401, { code: 'unauthorized' });
  if (failures.count > 0) {
    failures.count -= 1;
    return send(response, failures.status, { code: 'simulated_failure' });
  }
  let body;
  try { body = JSON.parse(await readBody(request)); } catch { return send(response, 400, { code: 'invalid_json' }); }
  const { to, text, from, client_reference: reference, callback_url: callbackUrl } = body ?? {};
  if (typeof to !== 'string' || !/^\+[1-9]\d{7,14}$/.test(to)) return send(response, 422, { code: 'invalid_number' });
  if (typeof text !== 'string' || text.length === 0 || typeof reference !== 'string') {
    return send(response, 422, { code: 'invalid_message' });
  }
  const existing = byReference.get(reference);
  if (existing) {
    existing.duplicates += 1;
    return send(response, 200, { id: existing.id, duplicate: true });
  }
  const message = { id: `sim-${nextId++}`, to, text, from, client_reference: reference, callback_url: callbackUrl,
    duplicates: 0, received_at: new Date().toISOString() };
  messages.push(message);
  byReference.set(reference, message);
  if (failures.stall > 0) {
    failures.stall -= 1;
    return;  // stored and never answered
  }
  send(response, 202, { id: message.id });
  report(message);
}

const server = createServer(async (request, response) => {
  try {
    const url = new URL(request.url, 'http://simulator');
    if (request.method === 'POST' && url.pathname === '/v1/messages') return await submit(request, response);
    if (request.method === 'GET' && url.pathname === '/_simulator/messages') return send(response, 200, messages);
    if (request.method === 'POST' && url.pathname === '/_simulator/mode') {
      const body = JSON.parse(await readBody(request));
      failures = { status: Number(body.status) || 500, count: Number(body.count) || 0, stall: Number(body.stall) || 0 };
      return send(response, 200, failures);
    }
    return send(response, 404, { code: 'not_found' });
  } catch (error) {
    return send(response, 500, { code: 'simulator_error', detail: String(error) });
  }
});
server.listen(Number(option('--port', '0')), '127.0.0.1', () => {
  console.log(`sms-gateway-simulator: listening on http://127.0.0.1:${server.address().port}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
