// Durable debits per second at points of sale over HTTP (issue 6, W15): many paired tills, each
// signing its requests with Ed25519 over keep-alive connections, run the online protocol — a
// debit (a pending hold) then its positive acknowledgement (posted) — against holders funded by
// cash packs. A payment counts once its acknowledgement is answered, i.e. committed.
// Baseline in the same run, on the same PostgreSQL: pgbench doing the same conditional debit in
// plain SQL (UPDATE … WHERE balance >= amount, plus a payment row, one transaction, fsync on),
// with as many clients as there are tills.
//   node bench/pos_debits.mjs [payments=3000] [tills=32] [holders=512]
// SQLite always; PostgreSQL too when GUICHET_TEST_PG is set (as scripts/test sets it);
// BENCH_BACKENDS=postgres|sqlite picks one.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backends, startServer } from '../tests/support/server.mjs';
import { request } from '../tests/api/lib.mjs';
import { runPayments } from '../tools/pos-sim/lib.mjs';
import { createMerchant, demoStaff, fundedSupports, pairedTills } from '../tools/pos-sim/provision.mjs';

const payments = Number(process.argv[2] ?? 3000);
const tillCount = Number(process.argv[3] ?? 32);
const holderCount = Number(process.argv[4] ?? 512);
const amountCents = 50;
const warmupPayments = Math.ceil(payments / 4);
// Enough 20 € cash packs for each holder's share of the payments, with one to spare.
const packsPerHolder = Math.ceil(((payments + warmupPayments) / holderCount) * amountCents / 2000) + 1;
const pgbenchSeconds = 10;
const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
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


// The tills are those of the point-of-sale simulator (tools/pos-sim): same signing, same
// three-phase payment as a vendor's till, one keep-alive connection each.
async function measureHttp(backend) {
  const server = await startServer({ backend, demo: true, env: { ...fastHashing, GUICHET_JOBS_POLL_MS: '1000' } });
  let tills = [];
  try {
    const staff = await demoStaff(server.url);
    const merchant = await createMerchant(staff, 'Restaurant universitaire (bench)');
    tills = await pairedTills(staff, merchant, tillCount, { prefix: 'BENCH', permissions: ['debit', 'cash_reload'] });
    const supports = await fundedSupports(staff, tills[0], holderCount, { packs: packsPerHolder });
    // Warm-up, then statistics: a fresh database's growing tables (ledger transfers, point
    // transactions) would otherwise keep the plans chosen while they were nearly empty — a
    // sequential scan cached in each connection's prepared statements — which a running
    // service's autovacuum analyses away. The measured run starts from the steady state.
    await runPayments(tills, supports, { payments: warmupPayments, amount: amountCents });
    if (backend === 'postgres') execFileSync('psql', [server.db, '-qAt', '-c', 'ANALYZE'], { stdio: 'pipe' });
    const workBefore = await databaseWork(server);
    const { rate, p50, p95, p99 } = await runPayments(tills, supports, { payments, amount: amountCents });
    const workAfter = await databaseWork(server);
    const per = (field) => (workBefore[field] === null ? null : (workAfter[field] - workBefore[field]) / payments);
    return { rate, p50, p95, p99, transactions: per('transactions'), statements: per('statements'),
      fallbacks: workBefore.fallbacks === null ? null : workAfter.fallbacks - workBefore.fallbacks };
  } finally {
    for (const till of tills) till.close();
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
// BENCH_BACKENDS=postgres (or sqlite) measures one backend only.
const chosen = process.env.BENCH_BACKENDS ? process.env.BENCH_BACKENDS.split(',') : backends();
for (const backend of chosen) {
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
