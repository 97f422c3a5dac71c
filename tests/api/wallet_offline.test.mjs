// The wallet's offline mode end to end (W16): a paired till reads the oppositions and QR keys
// feeds, uploads a signed batch of three debits made offline (one over the balance waits for
// funds), the holder is reloaded at the till and the waiting debit is applied by the service;
// bad signatures, gaps and reused sequence numbers are refused with nothing applied; the
// refused offline events are in the point's report with their codes, newest first; the offline
// report and the awaiting-funds list are another merchant's 404.
// On SQLite, and on PostgreSQL when GUICHET_TEST_PG is set.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { backends, startServer } from '../support/server.mjs';
import { expectProblem, pollUntil, request } from './lib.mjs';
import { Client } from './identity_client.mjs';
import { newHolder, sql } from './wallet_support.mjs';
import { batchSigningString } from './sync_support.mjs';

const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
const iban = 'FR7630006000011234567890189';
const sha256Hex = (text) => createHash('sha256').update(text).digest('hex');

/** A till working offline: signs its requests and its batches of events with its own key. */
class Till {
  constructor(server) {
    this.server = server;
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    this.publicKey = publicKey.export({ format: 'jwk' }).x;
    this.privateKey = privateKey;
    this.nextSeq = 1;
    this.txns = 0;
  }
  async pair(code) {
    const r = await request(this.server, 'POST', '/api/v1/devices/pair', { json: { code, public_key: this.publicKey } });
    assert.equal(r.status, 201, r.text);
    this.id = r.body.device_id;
  }
  async call(method, target, json) {
    const body = json === undefined ? '' : JSON.stringify(json);
    const timestamp = String(Date.now());
    const canonical = [method, target, timestamp, sha256Hex(body)].join('\n');
    const headers = {
      'x-device-id': String(this.id),
      'x-device-timestamp': timestamp,
      'x-device-signature': sign(null, Buffer.from(canonical), this.privateKey).toString('base64url'),
    };
    if (json !== undefined) headers['content-type'] = 'application/json';
    return request(this.server, method, target, { headers, body: json === undefined ? undefined : body });
  }
  txn() { this.txns += 1; return `OFF-${this.id}-${this.txns}`; }
  /** A debit made offline: the online route's body without point_at_ms. */
  debit(amount, support) {
    return { kind: 'wallet.debit', payload: { point_txn_id: this.txn(), amount, counter: 'EUR', support_number: support } };
  }
  batch(batchId, events, { key = this.privateKey, firstSeq } = {}) {
    let seq = firstSeq ?? this.nextSeq;
    const numbered = events.map((e) => ({ seq: seq++, kind: e.kind, at_ms: Date.now() - 60000, payload: e.payload }));
    const batch = { device_id: this.id, batch_id: batchId, events: numbered };
    batch.signature = sign(null, Buffer.from(batchSigningString(batch)), key).toString('base64url');
    return batch;
  }
  async upload(batch) {
    const r = await this.call('POST', '/api/v1/sync/batches', batch);
    if (r.status === 200) this.nextSeq = Math.max(this.nextSeq, batch.events.at(-1).seq + 1);
    return r;
  }
  async readFeed(name, cursor = '') {
    const items = [];
    for (let guard = 0; guard < 100; guard++) {
      const query = `?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await this.call('GET', `/api/v1/sync/feeds/${name}${query}`);
      assert.equal(r.status, 200, r.text);
      items.push(...r.body.items);
      cursor = r.body.cursor;
      if (r.body.complete) return { items, cursor };
    }
    throw new Error('feed never completed');
  }
  async balance(support) {
    const r = await this.call('POST', '/api/v1/pos/balance', { support_number: support, point_at_ms: Date.now() });
    assert.equal(r.status, 200, r.text);
    return r.body.balances.find((b) => b.counter === 'EUR').balance;
  }
  async cashReload(amount, support) {
    const r = await this.call('POST', '/api/v1/pos/cash-reloads', { point_txn_id: this.txn(), amount, point_at_ms: Date.now(),
      support_number: support });
    assert.equal(r.status, 201, r.text);
    return r.body;
  }
}

for (const backend of backends()) {
  describe(`wallet offline mode (${backend})`, () => {
    let server; let admin; let region; let merchant; let point; let till;
    const secrets = new Map();

    async function newSupport() {
      const made = await admin.call('POST', '/api/v1/wallet/holders', newHolder(region.id));
      assert.equal(made.status, 201, made.text);
      return made.body.supports[0];
    }
    const posTransactions = () => Number(sql(server, `SELECT COUNT(*) FROM wallet_pos_transactions WHERE point_id = ${point.id}`)[0][0]);

    before(async () => {
      server = await startServer({ backend, demo: true, env: fastHashing });
      admin = await new Client(server).loginFully('regional.admin@demo.guichet.fr', secrets);
      const organisations = (await admin.call('GET', '/api/v1/organisations')).body.organisations;
      region = organisations.find((o) => o.kind === 'region');
      const made = await admin.call('POST', '/api/v1/wallet/merchants', {
        region_id: region.id, name: `Cafétéria hors ligne ${backend}`, iban, bic: 'AGRIFRPP', commission_bp: 150,
        contact_email: 'cafet@example.org' });
      assert.equal(made.status, 201, made.text);
      merchant = made.body;
      const created = await admin.call('POST', '/api/v1/wallet/points', {
        merchant_id: merchant.id, institution_id: `OFF-${Date.now()}`, location: 'Crous-UGA-RU-Diderot-Caisse2',
        address: '1 rue Diderot, Grenoble', type: 'till', permissions: ['clock_check', 'debit', 'cash_reload', 'offline'] });
      assert.equal(created.status, 201, created.text);
      const approved = await admin.call('POST', `/api/v1/wallet/points/${created.body.id}/approve`, {});
      assert.equal(approved.status, 200, approved.text);
      point = approved.body.point;
      till = new Till(server);
      await till.pair(approved.body.pairing.code);
    });
    after(async () => { await server?.stop(); });

    test('the till learns its offline allowance with its clock check', async () => {
      const clock = await till.call('GET', '/api/v1/pos/clock');
      assert.equal(clock.status, 200, clock.text);
      assert.equal(clock.body.offline_allowance_cents, 3000);
    });

    test('the till downloads the oppositions of its region and the QR keys; payments change no feed', async () => {
      const support = await newSupport();
      const first = await till.readFeed('wallet.oppositions');
      assert.equal(first.items.some((i) => i.k === support.number), false);
      const opposed = await admin.call('POST', `/api/v1/wallet/supports/${support.id}/opposition`, { kind: 'temporary' });
      assert.equal(opposed.status, 200, opposed.text);
      const changes = await till.readFeed('wallet.oppositions', first.cursor);
      const item = changes.items.find((i) => i.k === support.number);
      assert.ok(item && Number.isInteger(item.v.since), JSON.stringify(changes.items));
      const snapshot = await till.readFeed('wallet.oppositions');
      assert.ok(snapshot.items.some((i) => i.k === support.number), 'a new device gets it in its snapshot');
      const lifted = await admin.call('DELETE', `/api/v1/wallet/supports/${support.id}/opposition`);
      assert.equal(lifted.status, 200, lifted.text);
      const after = await till.readFeed('wallet.oppositions', changes.cursor);
      assert.deepEqual(after.items.filter((i) => i.k === support.number), [{ k: support.number, del: true }]);

      const keys = await till.readFeed('wallet.qr_keys');
      const published = (await request(server, 'GET', '/api/v1/wallet/qr-key')).body.keys;
      assert.deepEqual(keys.items.map((i) => i.v).sort((a, b) => a.key_id.localeCompare(b.key_id)),
        [...published].sort((a, b) => a.key_id.localeCompare(b.key_id)));
      await till.readFeed('wallet.qr_revoked_phones');

      await till.cashReload(500, support.number);
      const quiet = await till.readFeed('wallet.oppositions', after.cursor);
      assert.deepEqual(quiet.items, [], 'a payment records no change');
    });

    test('three debits made offline: one waits for funds, is alerted, and is applied after a reload', async () => {
      const support = await newSupport();
      await till.cashReload(2000, support.number);
      assert.equal(await till.balance(support.number), 2000);
      const before = posTransactions();
      const batch = till.batch('offline-1', [till.debit(500, support.number), till.debit(2000, support.number),
        till.debit(300, support.number)]);
      const r = await till.upload(batch);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body.outcomes.map((o) => `${o.state}${o.code ? `:${o.code}` : ''}`),
        ['applied', 'waiting:awaiting_funds', 'applied']);
      assert.equal(r.body.outcomes[0].result.offline, true);
      const waiting = r.body.outcomes[1];
      assert.match(waiting.wait_key, /^holder:\d+$/);
      assert.equal(await till.balance(support.number), 1200);
      assert.equal(posTransactions(), before + 2);
      const alerts = sql(server, `SELECT variables FROM outbox_messages WHERE template_code = 'wallet.offline_awaiting_funds'
        AND person_id = ${waiting.wait_key.split(':')[1]}`);
      assert.equal(alerts.length, 1);
      assert.equal(JSON.parse(alerts[0][0]).amount_cents, 2000);

      // The merchant and the admins see it waiting.
      const report = await admin.call('GET', `/api/v1/wallet/points/${point.id}/offline-report`);
      assert.equal(report.status, 200, report.text);
      const listed = report.body.waiting.find((w) => w.event_id === waiting.id);
      assert.ok(listed, report.text);
      assert.equal(listed.amount, 2000);
      assert.equal(listed.support_number, support.number);
      assert.equal(`holder:${listed.holder_id}`, waiting.wait_key);
      assert.ok(report.body.events_by_state.applied >= 2);
      const awaiting = await admin.call('GET', `/api/v1/wallet/merchants/${merchant.id}/awaiting-funds`);
      assert.equal(awaiting.status, 200, awaiting.text);
      assert.ok(awaiting.body.payments.some((p) => p.event_id === waiting.id && p.point_id === point.id));

      // The holder is reloaded: the waiting debit is tried at once and applied.
      await till.cashReload(1000, support.number);
      await pollUntil(async () => {
        const own = await till.call('GET', '/api/v1/sync/report');
        return own.status === 200 && !own.body.waiting.some((w) => w.id === waiting.id);
      }, { what: 'the waiting debit applied' });
      assert.equal(await till.balance(support.number), 2000 - 500 - 300 + 1000 - 2000);
      assert.equal(posTransactions(), before + 4);
      const cleared = await admin.call('GET', `/api/v1/wallet/merchants/${merchant.id}/awaiting-funds`);
      assert.equal(cleared.body.payments.some((p) => p.event_id === waiting.id), false);
    });

    test('a bad signature, a gap or a reused seq is refused with nothing applied', async () => {
      const support = await newSupport();
      await till.cashReload(1000, support.number);
      const before = posTransactions();
      const { privateKey: otherKey } = generateKeyPairSync('ed25519');
      expectProblem(await till.upload(till.batch('bad-sig', [till.debit(100, support.number)], { key: otherKey })),
        401, 'batch_signature_invalid');
      const gap = await till.upload(till.batch('gap', [till.debit(100, support.number)], { firstSeq: till.nextSeq + 1 }));
      expectProblem(gap, 409, 'sequence_gap');
      const reused = await till.upload(till.batch('reused', [till.debit(100, support.number)], { firstSeq: till.nextSeq - 1 }));
      expectProblem(reused, 409, 'sequence_reused');
      assert.equal(await till.balance(support.number), 1000);
      assert.equal(posTransactions(), before);
    });

    test('refused offline events are in the point\'s report, newest first, with their codes; nothing was applied', async () => {
      const support = await newSupport();
      await till.cashReload(500, support.number);
      const before = posTransactions();
      const batch = till.batch('refusals', [
        till.debit(100, 'INCONNU0042'),
        { kind: 'wallet.nope', payload: {} },
      ]);
      const r = await till.upload(batch);
      assert.equal(r.status, 200, r.text);
      const refusedHere = r.body.outcomes.filter((o) => o.state === 'refused');
      assert.equal(refusedHere.length, 2, r.text);
      assert.equal(posTransactions(), before);
      assert.equal(await till.balance(support.number), 500);

      const report = await admin.call('GET', `/api/v1/wallet/points/${point.id}/offline-report`);
      assert.equal(report.status, 200, report.text);
      const { refused } = report.body;
      assert.ok(refused.length <= 50);
      const seqs = refused.map((e) => e.seq);
      assert.deepEqual(seqs, [...seqs].sort((x, y) => y - x), 'newest first');
      const bySeq = new Map(batch.events.map((e) => [e.seq, e]));
      for (const outcome of refusedHere) {
        const listed = refused.find((e) => e.seq === outcome.seq);
        assert.ok(listed, JSON.stringify(refused));
        assert.equal(listed.event_id, outcome.id);
        const sent = bySeq.get(listed.seq);
        assert.equal(listed.kind, sent.kind);
        assert.equal(listed.at_ms, sent.at_ms);
        assert.equal(listed.code, outcome.code);
        assert.equal(listed.device_id, till.id);
      }
      assert.equal(refused.find((e) => e.kind === 'wallet.nope').code, 'event_kind_unknown');
      assert.equal(refused.find((e) => e.seq === batch.events[0].seq).code, 'support_not_found');
      assert.equal(report.body.events_by_state.refused, refused.length);
    });

    test('another merchant reads neither the offline report nor the awaiting list (404)', async () => {
      const other = await new Client(server).loginFully('merchant@demo.guichet.fr', secrets);
      expectProblem(await other.call('GET', `/api/v1/wallet/points/${point.id}/offline-report`), 404, 'point_not_found');
      expectProblem(await other.call('GET', `/api/v1/wallet/merchants/${merchant.id}/awaiting-funds`), 404, 'merchant_not_found');
    });
  });
}
