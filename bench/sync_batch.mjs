// Offline batch throughput (issue 6, W16): events applied per second through the real binary,
// with the trivial diagnostics.note handler, so what is measured is the platform's own cost
// (signature check, storing the batch, one transaction per event, the answer).
// Baseline in the same run: batches of 1 event (one request per event), against batches of 100
// and of 500 (kBatchEventsMax).
//   node bench/sync_batch.mjs [events=3000]      (PostgreSQL too when GUICHET_TEST_PG is set)
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { startServer, backends } from '../tests/support/server.mjs';
import { Client } from '../tests/api/identity_client.mjs';

const total = Number(process.argv[2] ?? 3000);
const sha256Hex = (data) => createHash('sha256').update(data).digest('hex');

function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

async function pairedDevice(server) {
  const admin = await new Client(server).loginFully('syndicate.admin@demo.guichet.fr', new Map());
  const city = (await admin.call('GET', '/api/v1/organisations')).body.organisations.find((o) => o.kind === 'city');
  const pairing = await admin.call('POST', '/api/v1/devices/pairings', { organisation_id: city.id, kind: 'pos', label: 'bench' });
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const r = await fetch(`${server.url}/api/v1/devices/pair`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: pairing.body.pairing_code, public_key: publicKey.export({ format: 'jwk' }).x }) });
  return { id: (await r.json()).device_id, privateKey, seq: 1, batches: 0 };
}

async function upload(server, device, size) {
  const events = [];
  for (let i = 0; i < size; i++) events.push({ seq: device.seq++, kind: 'diagnostics.note', at_ms: Date.now(), payload: { i } });
  const batch = { device_id: device.id, batch_id: `bench-${device.batches++}`, events };
  let text = `guichet-sync-batch-v1\n${batch.device_id}\n${batch.batch_id}\n${events.length}\n`;
  for (const e of events) text += `${e.seq}\n${e.kind}\n${e.at_ms}\n${canonicalJson(e.payload)}\n`;
  batch.signature = sign(null, Buffer.from(text), device.privateKey).toString('base64url');
  const body = JSON.stringify(batch);
  const timestamp = String(Date.now() + device.batches);  // never twice the same signature
  const target = '/api/v1/sync/batches';
  const headers = { 'content-type': 'application/json', 'x-device-id': String(device.id), 'x-device-timestamp': timestamp,
    'x-device-signature': sign(null, Buffer.from(['POST', target, timestamp, sha256Hex(body)].join('\n')), device.privateKey).toString('base64url') };
  const r = await fetch(server.url + target, { method: 'POST', headers, body });
  if (r.status !== 200) throw new Error(`${r.status} ${await r.text()}`);
}

async function run(backend, size) {
  const server = await startServer({ backend, demo: true, env: { GUICHET_LOG_LEVEL: 'warn',
    GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' } });
  try {
    const device = await pairedDevice(server);
    const count = size === 1 ? Math.min(total, 500) : total;  // one request per event: fewer
    const started = performance.now();
    for (let done = 0; done < count; done += size) await upload(server, device, Math.min(size, count - done));
    return count / ((performance.now() - started) / 1000);
  } finally {
    await server.stop();
  }
}

console.log('backend     batch size   events/s   ratio');
for (const backend of backends()) {
  const baseline = await run(backend, 1);
  for (const size of [1, 100, 500]) {
    const rate = size === 1 ? baseline : await run(backend, size);
    console.log(`${backend.padEnd(11)} ${String(size).padStart(10)} ${rate.toFixed(0).padStart(10)} ${(rate / baseline).toFixed(2).padStart(7)}`);
  }
}
