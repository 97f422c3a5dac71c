#!/usr/bin/env node
// The point-of-sale simulator on the command line (see tools/pos-sim/README.md).
//
//   node tools/pos-sim/cli.mjs pair --url http://127.0.0.1:8080 --code 7KQ2M9XA --state till.json
//   node tools/pos-sim/cli.mjs clock|balance|pay|load|cash-reload|cancel|offline|sync|status|day --state till.json …
//   node tools/pos-sim/cli.mjs provision --url U --state till.json [--secrets F]
//   node tools/pos-sim/cli.mjs load-test [--url U] --tills N --payments M [--holders H]
//
// Every answer is printed as one JSON document (refusals too, with their code); the exit status
// is 0 on success, 2 on a refusal, 1 on any other error.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Refusal, Till, runPayments } from './lib.mjs';

const usage = `usage: node tools/pos-sim/cli.mjs COMMAND [options]
  pair        --url U --code C --state F      pair with an approved point's pairing code
  provision   --url U --state F [--secrets S] declare, approve and pair a demo point (demo data)
  clock       --state F                       the service's clock and this till's drift
  balance     --state F --support N           the balances of a support
  pay         --state F (--support N | --qr TEXT) --amount CENTS [--counter EUR] [--negative]
  load        --state F --support N --counter MEAL --amount TOKENS
  cash-reload --state F --support N --amount 500|1000|2000
  cancel      --state F --txn POINT_TXN_ID    cancel an acknowledged debit of this point
  offline     --state F on|off                work offline (operations are queued) or online
  sync        --state F                       upload the queue as one signed batch, refresh feeds
  status      --state F                       device, queue, feeds, last outcomes
  day         --state F --support N[,N…] [--count 50] [--amount 330]
              a scripted day: clock, feeds, payments (a few negative), a cancellation
  load-test   [--url U] --tills N --payments M [--holders H] [--secrets S]
              payments/s and p50/p95/p99 (without --url: starts the binary with the demo data)`;

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' }, code: { type: 'string' }, state: { type: 'string', default: 'pos-sim-till.json' },
    support: { type: 'string' }, qr: { type: 'string' }, amount: { type: 'string' }, counter: { type: 'string' },
    negative: { type: 'boolean', default: false }, txn: { type: 'string' }, count: { type: 'string' },
    tills: { type: 'string' }, payments: { type: 'string' }, holders: { type: 'string' },
    secrets: { type: 'string', default: 'pos-sim-secrets.json' }, help: { type: 'boolean', short: 'h' },
  },
});
const [command, ...rest] = positionals;
const print = (value) => console.log(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? String(v) : v), 2));

function integer(name, fallback) {
  const text = opts[name] ?? fallback;
  if (text === undefined) throw new UsageError(`--${name} is required`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new UsageError(`--${name} must be an integer`);
  return n;
}
class UsageError extends Error {}

function openTill() {
  if (!existsSync(opts.state)) throw new UsageError(`no state file ${opts.state}: pair first`);
  return Till.open({ statePath: opts.state, url: opts.url });
}

function loadSecrets() {
  return new Map(existsSync(opts.secrets) ? Object.entries(JSON.parse(readFileSync(opts.secrets, 'utf8'))) : []);
}
function saveSecrets(secrets) {
  writeFileSync(opts.secrets, `${JSON.stringify(Object.fromEntries(secrets), null, 1)}\n`, { mode: 0o600 });
}

function payerOptions() {
  if (opts.qr !== undefined) return { qr: opts.qr };
  if (opts.support === undefined) throw new UsageError('--support or --qr is required');
  return { support_number: opts.support };
}

async function run() {
  let till;
  try {
    switch (command) {
      case 'pair': {
        if (!opts.url || !opts.code) throw new UsageError('--url and --code are required');
        till = new Till({ url: opts.url, statePath: opts.state });
        print(await till.pair(opts.code));
        return;
      }
      case 'provision': {
        if (!opts.url) throw new UsageError('--url is required');
        const { approvedPoint, createMerchant, demoStaff } = await import('./provision.mjs');
        const secrets = loadSecrets();
        const staff = await demoStaff(opts.url, secrets);
        saveSecrets(secrets);
        const merchant = await createMerchant(staff, `Cafétéria du simulateur ${Date.now()}`);
        const { point, code } = await approvedPoint(staff, merchant, { tag: `SIM-${Date.now()}` });
        till = new Till({ url: opts.url, statePath: opts.state });
        const device = await till.pair(code);
        print({ point_id: point.id, device_id: device.device_id, state: opts.state });
        return;
      }
      case 'clock': till = openTill(); print(await till.clock()); return;
      case 'balance': till = openTill(); print(await till.balance({ support_number: opts.support })); return;
      case 'pay':
        till = openTill();
        print(await till.pay({ ...payerOptions(), amount: integer('amount'), counter: opts.counter ?? 'EUR', positive: !opts.negative }));
        return;
      case 'load':
        till = openTill();
        print(await till.load({ ...payerOptions(), amount: integer('amount'), counter: opts.counter ?? 'MEAL' }));
        return;
      case 'cash-reload':
        till = openTill();
        print(await till.cashReload({ support_number: opts.support, amount: integer('amount') }));
        return;
      case 'cancel':
        if (!opts.txn) throw new UsageError('--txn is required');
        till = openTill(); print(await till.cancel(opts.txn)); return;
      case 'offline': {
        if (!['on', 'off'].includes(rest[0])) throw new UsageError('offline on|off');
        till = openTill(); till.offline = rest[0] === 'on';
        print({ offline: till.offline, queued: till.queue.length });
        return;
      }
      case 'sync': till = openTill(); print(await till.sync()); return;
      case 'status': {
        till = openTill();
        const { state } = till;
        print({
          url: state.url, device_id: state.device_id, offline: state.offline, next_seq: state.next_seq,
          queued: state.queue, pending_acknowledgements: state.pending_acks, clock: state.clock,
          feeds: Object.fromEntries(Object.entries(state.feeds).map(([k, f]) => [k, Object.keys(f.items).length])),
          last_outcomes: state.results.slice(-20),
        });
        return;
      }
      case 'day': till = openTill(); print(await day(till)); return;
      case 'load-test': print(await loadTest()); return;
      default:
        console.log(usage);
        process.exitCode = opts.help || command === 'help' ? 0 : 1;
    }
  } finally {
    till?.close();
  }
}

/** A cashier's scripted day: clock check, feeds, payments in turn (every 10th abandoned), one cancellation, a sync. */
async function day(till) {
  if (!opts.support) throw new UsageError('--support N[,N…] is required');
  const supports = opts.support.split(',');
  const count = integer('count', '50');
  const amount = integer('amount', '330');
  const summary = { clock: null, payments: 0, abandoned: 0, offline: 0, refused: {}, cancelled: null, sync: null };
  try { summary.clock = await till.clock(); } catch (error) { summary.clock = { error: error.message }; }
  let lastAcknowledged;
  for (let i = 0; i < count; i += 1) {
    const positive = i % 10 !== 9;
    try {
      const paid = await till.pay({ support_number: supports[i % supports.length], amount, positive });
      if (paid.mode === 'offline') summary.offline += 1;
      else if (positive) { summary.payments += 1; lastAcknowledged = paid.point_txn_id; } else summary.abandoned += 1;
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      summary.refused[error.code] = (summary.refused[error.code] ?? 0) + 1;
    }
  }
  if (lastAcknowledged) {
    try { summary.cancelled = (await till.cancel(lastAcknowledged)).point_txn_id; } catch (error) { summary.cancelled = { refused: error.code ?? error.message }; }
  }
  if (!till.offline) {
    try { summary.sync = await till.sync(); } catch (error) { summary.sync = { error: error.code ?? error.message }; }
  }
  return summary;
}

/** Many tills paying at once; payments/s and latency percentiles. */
async function loadTest() {
  const tillCount = integer('tills', '8');
  const payments = integer('payments', '1000');
  const holders = integer('holders', String(Math.max(8, tillCount * 2)));
  const { createMerchant, demoStaff, fundedSupports, pairedTills } = await import('./provision.mjs');
  let server;
  let url = opts.url;
  if (!url) {
    const { startServer } = await import('../../tests/support/server.mjs');
    server = await startServer({ demo: true, env: { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' } });
    url = server.url;
  }
  let tills = [];
  try {
    const secrets = loadSecrets();
    const staff = await demoStaff(url, secrets);
    if (opts.url) saveSecrets(secrets);
    const merchant = await createMerchant(staff, `Charge du simulateur ${Date.now()}`);
    tills = await pairedTills(staff, merchant, tillCount, { prefix: `LT${Date.now() % 1e6}` });
    const packs = Math.ceil((payments / holders) * 50 / 2000) + 1;
    const supports = await fundedSupports(staff, tills[0], holders, { packs, tag: `${Date.now() % 1e7}` });
    const result = await runPayments(tills, supports, { payments, amount: 50 });
    const round = (n) => Math.round(n * 10) / 10;
    return {
      tills: tillCount, payments, holders,
      payments_per_s: round(result.rate), p50_ms: round(result.p50), p95_ms: round(result.p95), p99_ms: round(result.p99),
    };
  } finally {
    for (const till of tills) till.close();
    await server?.stop();
  }
}

try {
  await run();
} catch (error) {
  if (error instanceof Refusal) {
    print({ refused: error.code, status: error.status, local: error.local, detail: error.problem?.detail });
    process.exitCode = 2;
  } else if (error instanceof UsageError) {
    console.error(`${error.message}\n\n${usage}`);
    process.exitCode = 1;
  } else {
    console.error(error.stack ?? String(error));
    process.exitCode = 1;
  }
}
