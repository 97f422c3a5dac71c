// Durable debits per second at points of sale over HTTP (issue 6, W15): many paired tills, each
// signing its requests with Ed25519 over keep-alive connections, run the online protocol — a
// debit (a pending hold) then its positive acknowledgement (posted) — against holders funded by
// cash packs. A payment counts once its acknowledgement is answered, i.e. committed.
// Baseline in the same run, on the same PostgreSQL: pgbench doing the same conditional debit in
// plain SQL (UPDATE … WHERE balance >= amount, plus a payment row, one transaction, fsync on),
// with as many clients as there are tills.
//   node bench/pos_debits.mjs [payments=3000] [tills=32] [holders=64]
// SQLite always; PostgreSQL too when GUICHET_TEST_PG is set (as scripts/test sets it).
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backends, startServer } from '../tests/support/server.mjs';
import { request } from '../tests/api/lib.mjs';
import { Client } from '../tests/api/identity_client.mjs';

const payments = Number(process.argv[2] ?? 3000);
const tillCount = Number(process.argv[3] ?? 32);
const holderCount = Number(process.argv[4] ?? 64);
const amountCents = 50;
const packsPerHolder = 5;  // 5 × 20 € = 200 payments of 0,50 € each
const pgbenchSeconds = 10;
const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
const sha256Hex = (text) => createHash('sha256').update(text).digest('hex');

class Till {
  constructor(server) {
    this.server = server;
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    this.publicKey = publicKey.export({ format: 'jwk' }).x;
    this.privateKey = privateKey;
    this.seq = 0;
  }
  async pair(code) {
    const r = await request(this.server, 'POST', '/api/v1/devices/pair', { json: { code, public_key: this.publicKey } });
    if (r.status !== 201) throw new Error(`pairing: ${r.status} ${r.text}`);
    this.id = r.body.device_id;
  }
  call(method, target, json) {
    const body = JSON.stringify(json);
    const timestamp = String(Date.now());
    const canonical = [method, target, timestamp, sha256Hex(body)].join('\n');
    return request(this.server, method, target, {
      body,
      headers: {
        'content-type': 'application/json',
        'x-device-id': String(this.id),
        'x-device-timestamp': timestamp,
        'x-device-signature': sign(null, Buffer.from(canonical), this.privateKey).toString('base64url'),
      },
    });
  }
  txn() { this.seq += 1; return `${this.id}-${this.seq}`; }
}

function expect(r, status, what) {
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${r.text}`);
  return r.body;
}

// A request of the measured run, whatever goes wrong with it reported in full: the answer's
// status and body, or the network error and its cause (fetch hides the cause: "fetch failed").
async function step(what, call, status) {
  let r;
  try {
    r = await call();
  } catch (error) {
    const cause = error.cause ? ` (cause: ${error.cause.code ?? ''} ${error.cause.message ?? error.cause})` : '';
    throw new Error(`${what}: no answer: ${error.name}: ${error.message}${cause}`);
  }
  if (r.status !== status) {
    throw new Error(`${what}: expected ${status}, got ${r.status} ${r.headers.get('content-type') ?? ''}\n${r.text}`);
  }
  return r.body;
}

// The server's own count of database work (absent from older binaries: then null).
async function databaseWork(server) {
  const r = await request(server, 'GET', '/metrics');
  const read = (name) => {
    const match = new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(r.text);
    return match ? Number(match[1]) : null;
  };
  return { transactions: read('guichet_db_transactions_total'), statements: read('guichet_db_statements_total'),
    fallbacks: read('guichet_db_shared_fallbacks_total') };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function measureHttp(backend) {
  const server = await startServer({ backend, demo: true, env: { ...fastHashing, GUICHET_JOBS_POLL_MS: '1000' } });
  try {
    const secrets = new Map();
    const admin = await new Client(server).loginFully('regional.admin@demo.guichet.fr', secrets);
    const manager = await new Client(server).loginFully('manager@demo.guichet.fr', secrets);
    const organisations = expect(await admin.call('GET', '/api/v1/organisations'), 200, 'organisations').organisations;
    const region = organisations.find((o) => o.kind === 'region');
    const institution = organisations.find((o) => o.name === 'Crous Grenoble Alpes');
    const merchant = expect(await admin.call('POST', '/api/v1/wallet/merchants', {
      region_id: region.id, name: 'Restaurant universitaire (bench)', iban: 'FR7630006000011234567890189',
      bic: 'AGRIFRPP', commission_bp: 150, contact_email: 'ru@example.org' }), 201, 'merchant');
    const tills = [];
    for (let i = 0; i < tillCount; i += 1) {
      const point = expect(await admin.call('POST', '/api/v1/wallet/points', {
        merchant_id: merchant.id, institution_id: `BENCH-${i}`, location: `Crous-UGA-RU-Bench-Caisse${i}`,
        address: '1 rue Diderot, Grenoble', type: 'till', permissions: ['debit', 'cash_reload'] }), 201, 'point');
      const approved = expect(await admin.call('POST', `/api/v1/wallet/points/${point.id}/approve`, {}), 200, 'approval');
      const till = new Till(server);
      await till.pair(approved.pairing.code);
      tills.push(till);
    }
    const supports = [];
    for (let i = 0; i < holderCount; i += 1) {
      const tag = `${process.pid}${i}`;
      const number = `BENCH${tag}`.slice(0, 20);
      expect(await manager.call('POST', '/api/v1/wallet/holders', {
        organisation_id: institution.id, university_id: `B-${tag}`, last_name: 'Banc', first_name: `Essai ${i}`,
        email: `bench.${tag}@example.org`, supports: [{ number, technology: 'desfire' }] }), 201, 'holder');
      for (let p = 0; p < packsPerHolder; p += 1) {
        const till = tills[0];
        expect(await till.call('POST', '/api/v1/pos/cash-reloads', {
          point_txn_id: till.txn(), amount: 2000, point_at_ms: Date.now(), support_number: number }), 201, 'cash pack');
      }
      supports.push(number);
    }

    const latencies = [];
    let next = 0;
    const failures = [];
    const workBefore = await databaseWork(server);
    const started = performance.now();
    await Promise.all(tills.map(async (till, index) => {
      for (;;) {
        const n = next;
        next += 1;
        if (n >= payments || failures.length > 0) return;
        const support = supports[(n + index) % supports.length];
        const id = till.txn();
        const t0 = performance.now();
        try {
          await step(`payment ${n}, till ${index}, debit ${id}`, () => till.call('POST', '/api/v1/pos/debits', {
            point_txn_id: id, counter: 'EUR', amount: amountCents, point_at_ms: Date.now(), support_number: support }),
          201);
          await step(`payment ${n}, till ${index}, acknowledgement ${id}`, () => till.call('POST', '/api/v1/pos/acknowledgements', {
            point_txn_id: id, positive: true, point_at_ms: Date.now() }), 200);
        } catch (error) {
          failures.push(error);  // the other tills stop at their next payment
          return;
        }
        latencies.push(performance.now() - t0);
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    if (failures.length > 0) {
      throw new Error(`${backend}: the run stopped after ${latencies.length} payments:\n${failures.map((f) => f.message).join('\n')}`);
    }
    const workAfter = await databaseWork(server);
    latencies.sort((a, b) => a - b);
    const per = (field) => (workBefore[field] === null ? null : (workAfter[field] - workBefore[field]) / payments);
    return {
      rate: payments / seconds,
      p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99),
      transactions: per('transactions'), statements: per('statements'),
      fallbacks: workBefore.fallbacks === null ? null : workAfter.fallbacks - workBefore.fallbacks,
    };
  } finally {
    await server.stop();
  }
}

// The same conditional debit in plain SQL, driven by pgbench on the same cluster.
function measurePgbench() {
  const base = process.env.GUICHET_TEST_PG;
  const name = `pgbench_pos_${process.pid}`;
  execFileSync('psql', [base, '-qAt', '-c', `CREATE DATABASE ${name}`], { stdio: 'pipe' });
  const url = new URL(base);
  url.pathname = `/${name}`;
  try {
    execFileSync('psql', [url.toString(), '-qAt', '-c', `
      CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0));
      CREATE TABLE payments (id bigserial PRIMARY KEY, account_id bigint NOT NULL, amount bigint NOT NULL,
                             at timestamptz NOT NULL DEFAULT now());
      INSERT INTO accounts SELECT g, 100000000 FROM generate_series(1, ${holderCount}) g;`], { stdio: 'pipe' });
    const dir = mkdtempSync(join(tmpdir(), 'pgbench-'));
    const script = join(dir, 'debit.sql');
    writeFileSync(script, `\\set aid random(1, ${holderCount})
BEGIN;
UPDATE accounts SET balance = balance - ${amountCents} WHERE id = :aid AND balance >= ${amountCents};
INSERT INTO payments (account_id, amount) VALUES (:aid, ${amountCents});
COMMIT;
`);
    const out = execFileSync('/usr/lib/postgresql/15/bin/pgbench', [
      '-n', '-c', String(tillCount), '-j', '2', '-T', String(pgbenchSeconds), '-f', script, url.toString()],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const tps = Number(/tps = ([\d.]+)/.exec(out)[1]);
    const latency = Number(/latency average = ([\d.]+) ms/.exec(out)[1]);
    return { rate: tps, average: latency };
  } finally {
    execFileSync('psql', [base, '-qAt', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], { stdio: 'pipe' });
  }
}

const fmt = (n) => n.toFixed(1).padStart(8);
console.log(`pos_debits: ${payments} payments (debit + acknowledgement), ${tillCount} tills, ${holderCount} holders`);
console.log('backend     measure                              payments/s   p50 ms   p95 ms   p99 ms   ratio');
for (const backend of backends()) {
  const http = await measureHttp(backend);
  let baseline;
  if (backend === 'postgres') {
    baseline = measurePgbench();
    console.log(`postgres    pgbench plain SQL (baseline)       ${fmt(baseline.rate)}   avg ${baseline.average.toFixed(1)}                   1.00`);
  }
  const ratio = baseline ? (http.rate / baseline.rate).toFixed(2) : '   —';
  console.log(`${backend.padEnd(11)} HTTP debit + ack, signed tills     ${fmt(http.rate)} ${fmt(http.p50)} ${fmt(http.p95)} ${fmt(http.p99)}   ${ratio}`);
  if (http.transactions !== null) {
    console.log(`${''.padEnd(11)} per payment: ${http.transactions.toFixed(2)} transactions, ${http.statements.toFixed(1)} statements`
      + ` (server's /metrics; ${http.fallbacks} shared transactions run again apart)`);
  }
}
