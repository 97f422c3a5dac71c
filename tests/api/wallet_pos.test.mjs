// Points of sale end to end with a real paired device signing its requests with Ed25519: a
// regional admin creates a merchant and a point, approves it (pairing code), the device pairs
// and checks its clock, then balance, debit + positive / negative acknowledgement, a hold that
// lapses (short hold setting), idempotent replay and conflict, cancellation, token load and
// debit, a cash pack, an opposed point refused at once, device swap, the scope of another
// merchant (404), bad amounts and clock drift — with balances checked after every refusal.
// On SQLite, and on PostgreSQL when GUICHET_TEST_PG is set.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { backends, startServer } from '../support/server.mjs';
import { expectProblem, pollUntil, request } from './lib.mjs';
import { Client } from './identity_client.mjs';
import { HolderClient } from './wallet_support.mjs';
import { importTypeScript } from '../support/typescript.mjs';

const qr = await importTypeScript('src/wallet/qr_phone.ts');

const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
const hugoCard = '04A1B2C3D4E5F7';
const hugo = 'hugo.bernard@etu.demo.guichet.fr';
const demoPassword = 'Vercors-Granit-Saule-47';
const iban = 'FR7630006000011234567890189';

const sha256Hex = (text) => createHash('sha256').update(text).digest('hex');

/** A till: its own Ed25519 key pair; signs METHOD\nTARGET\nTIMESTAMP\nSHA256HEX(BODY). */
class Till {
  constructor(server) {
    this.server = server;
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    this.publicKey = publicKey.export({ format: 'jwk' }).x;
    this.privateKey = privateKey;
    this.id = undefined;
    this.seq = 0;
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
  txn() { this.seq += 1; return `${this.id}-${Date.now()}-${this.seq}`; }
  debit(fields) { return this.call('POST', '/api/v1/pos/debits', { point_at_ms: Date.now(), ...fields }); }
  ack(id, positive) {
    return this.call('POST', '/api/v1/pos/acknowledgements', { point_txn_id: id, positive, point_at_ms: Date.now() });
  }
  async balance(counter = 'EUR', support = hugoCard) {
    const r = await this.call('POST', '/api/v1/pos/balance', { support_number: support, point_at_ms: Date.now() });
    assert.equal(r.status, 200, r.text);
    return r.body.balances.find((b) => b.counter === counter).available;
  }
}

for (const backend of backends()) {
  describe(`wallet points of sale (${backend})`, () => {
    let server; let admin; let national; let merchant; let region; let point; let till;
    const secrets = new Map();
    const allPermissions = ['clock_check', 'debit', 'cancel', 'cash_reload', 'load:MEAL', 'debit:MEAL'];

    async function approvedTill(permissions = allPermissions, extra = {}) {
      const created = await admin.call('POST', '/api/v1/wallet/points', {
        merchant_id: merchant.id, institution_id: `P-${Date.now()}-${Math.random()}`.slice(0, 60),
        location: 'Crous-UGA-RU-Diderot-Caisse1', address: '1 rue Diderot, Grenoble', type: 'till', permissions, ...extra });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.state, 'pending');
      const approved = await admin.call('POST', `/api/v1/wallet/points/${created.body.id}/approve`, {});
      assert.equal(approved.status, 200, approved.text);
      assert.equal(approved.body.point.state, 'approved');
      const device = new Till(server);
      await device.pair(approved.body.pairing.code);
      return { point: approved.body.point, device };
    }

    before(async () => {
      server = await startServer({ backend, demo: true, env: { ...fastHashing, GUICHET_WALLET_POS_HOLD_S: '2' } });
      admin = await new Client(server).loginFully('regional.admin@demo.guichet.fr', secrets);
      national = await new Client(server).loginFully('national.admin@demo.guichet.fr', secrets);
      const organisations = (await admin.call('GET', '/api/v1/organisations')).body.organisations;
      region = organisations.find((o) => o.kind === 'region');
      const made = await admin.call('POST', '/api/v1/wallet/merchants', {
        region_id: region.id, name: `Cafétéria ${backend}`, iban, bic: 'AGRIFRPP', commission_bp: 150,
        contact_email: 'cafet@example.org' });
      assert.equal(made.status, 201, made.text);
      merchant = made.body;
      ({ point, device: till } = await approvedTill());
    });
    after(async () => { await server?.stop(); });

    test('a merchant keeps its IBAN sealed; a point is approved, paired and checks its clock', async () => {
      assert.equal(merchant.iban_last4, '0189');
      assert.equal(merchant.settlement_period_days, 30);
      assert.equal(JSON.stringify(merchant).includes('1234567890'), false);
      expectProblem(await admin.call('POST', '/api/v1/wallet/merchants', { region_id: region.id, name: 'X', iban: 'FR7630006000011234567890188',
        bic: 'AGRIFRPP', commission_bp: 10, contact_email: 'x@example.org' }), 422, 'validation_failed');
      const clock = await till.call('GET', '/api/v1/pos/clock');
      assert.equal(clock.status, 200, clock.text);
      assert.ok(Math.abs(clock.body.server_ms - Date.now()) < 5000);
      assert.equal(clock.body.drift_max_ms, 30000);
      const read = await admin.call('GET', `/api/v1/wallet/points/${point.id}`);
      assert.equal(read.body.paired, true);
      assert.deepEqual(read.body.events.map((e) => e.event).slice(0, 3), ['paired', 'approved', 'created']);
    });

    test('debit in three phases: hold, positive acknowledgement, replay and conflict', async () => {
      const cash = await till.call('POST', '/api/v1/pos/cash-reloads', { point_txn_id: till.txn(), amount: 2000,
        point_at_ms: Date.now(), support_number: hugoCard });
      assert.equal(cash.status, 201, cash.text);
      const start = await till.balance();
      const id = till.txn();
      const held = await till.debit({ point_txn_id: id, amount: 350, support_number: hugoCard });
      assert.equal(held.status, 201, held.text);
      assert.equal(held.body.state, 'pending');
      assert.equal(await till.balance(), start - 350);
      const replay = await till.debit({ point_txn_id: id, amount: 350, support_number: hugoCard });
      assert.equal(replay.status, 200, replay.text);
      assert.equal(replay.body.replayed, true);
      assert.equal(replay.body.id, held.body.id);
      expectProblem(await till.debit({ point_txn_id: id, amount: 351, support_number: hugoCard }), 409, 'point_txn_conflict');
      expectProblem(await till.debit({ point_txn_id: id, amount: 350, counter: 'MEAL', support_number: hugoCard }), 409, 'point_txn_conflict');
      const acked = await till.ack(id, true);
      assert.equal(acked.status, 200, acked.text);
      assert.equal(acked.body.state, 'acknowledged');
      assert.equal((await till.ack(id, true)).body.replayed, true);
      expectProblem(await till.ack(id, false), 409, 'already_acknowledged');
      assert.equal(await till.balance(), start - 350);

      // Cancellation by the point: the holder is credited back, once.
      const cancel = { point_txn_id: till.txn(), cancels_point_txn_id: id, point_at_ms: Date.now() };
      const cancelled = await till.call('POST', '/api/v1/pos/cancellations', cancel);
      assert.equal(cancelled.status, 201, cancelled.text);
      assert.equal(await till.balance(), start);
      expectProblem(await till.call('POST', '/api/v1/pos/cancellations', { ...cancel, point_txn_id: till.txn() }), 409, 'not_cancellable');
      const original = await till.call('GET', `/api/v1/pos/transactions/${id}`);
      assert.equal(original.body.state, 'cancelled');

      // A regional administrator cancels another acknowledged debit from the back office.
      const second = till.txn();
      assert.equal((await till.debit({ point_txn_id: second, amount: 120, support_number: hugoCard })).status, 201);
      assert.equal((await till.ack(second, true)).status, 200);
      assert.equal(await till.balance(), start - 120);
      const rows = (await admin.call('GET', `/api/v1/wallet/points/${point.id}/transactions`)).body.transactions;
      const row = rows.find((t) => t.point_txn_id === second);
      const byAdmin = await admin.call('POST', `/api/v1/wallet/pos-transactions/${row.id}/cancellation`, { reason: 'charged twice' });
      assert.equal(byAdmin.status, 201, byAdmin.text);
      assert.equal(await till.balance(), start);
      expectProblem(await admin.call('POST', `/api/v1/wallet/pos-transactions/${row.id}/cancellation`, { reason: 'again' }),
        409, 'not_cancellable');
    });

    test('a one-time QR code from the phone pays once; a replay or a balance read by QR is refused', async () => {
      const holder = new HolderClient(server);
      assert.equal((await holder.call('POST', '/api/v1/wallet/holder-session', { email: hugo, password: demoPassword })).status, 200);
      const phone = await qr.generatePhoneKey();
      const enrolled = await holder.call('POST', '/api/v1/wallet/me/phones',
        { public_key: qr.toBase64Url(phone.publicKey), label: 'Téléphone de Hugo' });
      assert.equal(enrolled.status, 201, enrolled.text);
      const euros = async () => (await holder.call('GET', '/api/v1/wallet/me/accounts')).body.accounts
        .find((a) => a.counter.code === 'EUR').available;
      const start = await euros();
      const code = await qr.makeQrCode(enrolled.body.phone.certificate, phone, 1, Math.floor(Date.now() / 1000));
      expectProblem(await till.call('POST', '/api/v1/pos/balance', { qr: code, point_at_ms: Date.now() }), 422, 'qr_not_supported');
      const id = till.txn();
      const held = await till.debit({ point_txn_id: id, amount: 330, qr: code });
      assert.equal(held.status, 201, held.text);
      assert.equal((await till.ack(id, true)).status, 200);
      assert.equal(await euros(), start - 330);
      // The same code at another transaction (or another point) is a replay: nothing moves.
      expectProblem(await till.debit({ point_txn_id: till.txn(), amount: 330, qr: code }), 409, 'qr_replayed');
      const forged = code.slice(0, -4) + (code.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      const refused = await till.debit({ point_txn_id: till.txn(), amount: 330, qr: forged });
      assert.ok(['qr_signature_invalid', 'qr_malformed'].includes(refused.body.code), refused.text);
      assert.equal(await euros(), start - 330);
    });

    test('a negative acknowledgement and a lapsed hold give the money back', async () => {
      const start = await till.balance();
      const id = till.txn();
      assert.equal((await till.debit({ point_txn_id: id, amount: 200, support_number: hugoCard })).status, 201);
      const voided = await till.ack(id, false);
      assert.equal(voided.status, 200, voided.text);
      assert.equal(voided.body.state, 'voided');
      assert.equal(await till.balance(), start);

      const lapsing = till.txn();
      assert.equal((await till.debit({ point_txn_id: lapsing, amount: 300, support_number: hugoCard })).status, 201);
      assert.equal(await till.balance(), start - 300);
      await new Promise((r) => setTimeout(r, 2500));
      expectProblem(await till.ack(lapsing, true), 409, 'transaction_expired');
      assert.equal((await till.call('GET', `/api/v1/pos/transactions/${lapsing}`)).body.state, 'expired');
      // The ledger's expiry job releases the hold within a few seconds.
      await pollUntil(async () => (await till.balance()) === start, { timeoutMs: 15000, intervalMs: 250, what: 'hold released' });
    });

    test('refusals apply nothing: amounts, drift, unknown support, thresholds, funds', async () => {
      const start = await till.balance();
      expectProblem(await till.debit({ point_txn_id: till.txn(), amount: 0, support_number: hugoCard }), 422, 'amount_invalid');
      expectProblem(await till.debit({ point_txn_id: till.txn(), amount: -100, support_number: hugoCard }), 422, 'amount_invalid');
      expectProblem(await till.debit({ point_txn_id: till.txn(), amount: 5001, support_number: hugoCard }), 422, 'threshold_exceeded');
      expectProblem(await till.debit({ point_txn_id: till.txn(), amount: start + 1, support_number: hugoCard }), 422,
        start + 1 > 5000 ? 'threshold_exceeded' : 'insufficient_funds');
      expectProblem(await till.debit({ point_txn_id: till.txn(), amount: 100, support_number: hugoCard,
        point_at_ms: Date.now() - 60000 }), 422, 'clock_drift');
      expectProblem(await till.debit({ point_txn_id: till.txn(), amount: 100, support_number: 'NO-SUCH-CARD' }), 404, 'support_not_found');
      expectProblem(await till.debit({ point_txn_id: till.txn(), amount: 100, qr: 'AIZ;x' }), 422, 'qr_malformed');
      expectProblem(await till.debit({ point_txn_id: till.txn(), amount: 100 }), 422, 'payer_missing');
      expectProblem(await till.debit({ point_txn_id: till.txn(), amount: 100, support_number: hugoCard, tip: 1 }), 422, 'validation_failed');
      expectProblem(await till.call('POST', '/api/v1/pos/cash-reloads', { point_txn_id: till.txn(), amount: 700,
        point_at_ms: Date.now(), support_number: hugoCard }), 422, 'cash_pack_invalid');
      assert.equal(await till.balance(), start);
    });

    test('tokens: a load and a debit need the counter permission and its authorisation', async () => {
      const load = { point_txn_id: till.txn(), counter: 'MEAL', amount: 3, point_at_ms: Date.now(), support_number: hugoCard };
      expectProblem(await till.call('POST', '/api/v1/pos/loads', load), 403, 'counter_not_authorised');
      const allowed = await national.call('PUT', '/api/v1/wallet/counters/MEAL/clients',
        { client_type: 'device', client_id: till.id, may_load: true, may_debit: true });
      assert.ok(allowed.status < 300, allowed.text);
      const start = await till.balance('MEAL');
      const loaded = await till.call('POST', '/api/v1/pos/loads', { ...load, point_txn_id: till.txn() });
      assert.equal(loaded.status, 201, loaded.text);
      assert.equal(await till.balance('MEAL'), start + 3);
      const id = till.txn();
      assert.equal((await till.debit({ point_txn_id: id, counter: 'MEAL', amount: 1, support_number: hugoCard })).status, 201);
      assert.equal((await till.ack(id, true)).status, 200);
      assert.equal(await till.balance('MEAL'), start + 2);
    });

    test('an opposed point is refused at once; only an admin reactivates; a swapped device is cut off', async () => {
      const { point: other, device } = await approvedTill(['clock_check', 'debit']);
      assert.equal((await device.call('GET', '/api/v1/pos/clock')).status, 200);
      // No reason, an empty one, an unknown field or a bad id: refused, and the point still works.
      expectProblem(await admin.call('POST', `/api/v1/wallet/points/${other.id}/opposition`, {}), 422, 'validation_failed');
      expectProblem(await admin.call('POST', `/api/v1/wallet/points/${other.id}/opposition`, { reason: '' }), 422, 'validation_failed');
      expectProblem(await admin.call('POST', `/api/v1/wallet/points/${other.id}/opposition`, { reason: 'x', why: 'y' }),
        422, 'validation_failed');
      expectProblem(await admin.call('POST', '/api/v1/wallet/points/abc/opposition', { reason: 'x' }), 400, 'invalid_parameter');
      expectProblem(await admin.call('POST', '/api/v1/wallet/pos-transactions/0/cancellation', { reason: 'x' }), 400, 'invalid_parameter');
      assert.equal((await admin.call('GET', `/api/v1/wallet/points/${other.id}`)).body.state, 'approved');
      const opposed = await admin.call('POST', `/api/v1/wallet/points/${other.id}/opposition`, { reason: 'stolen' });
      assert.equal(opposed.status, 200, opposed.text);
      expectProblem(await device.call('GET', '/api/v1/pos/clock'), 403, 'point_opposed');
      expectProblem(await device.debit({ point_txn_id: device.txn(), amount: 100, support_number: hugoCard }), 403, 'point_opposed');
      assert.equal((await admin.call('POST', `/api/v1/wallet/points/${other.id}/reactivation`, { reason: 'found' })).status, 200);
      assert.equal((await device.call('GET', '/api/v1/pos/clock')).status, 200);
      // Device swap: the new device works, the old one is refused at once.
      const swap = await admin.call('POST', `/api/v1/wallet/points/${other.id}/pairings`, { reason: 'broken screen' });
      assert.equal(swap.status, 200, swap.text);
      const replacement = new Till(server);
      await replacement.pair(swap.body.pairing.code);
      assert.equal((await replacement.call('GET', '/api/v1/pos/clock')).status, 200);
      const old = await device.call('GET', '/api/v1/pos/clock');
      assert.ok([401, 403].includes(old.status), old.text);
      const events = (await admin.call('GET', `/api/v1/wallet/points/${other.id}`)).body.events.map((e) => e.event);
      assert.deepEqual(events.slice(0, 5), ['paired', 'device_replaced', 'reactivated', 'opposed', 'paired']);
      // A point without the permission.
      expectProblem(await device.call('POST', '/api/v1/pos/cash-reloads', { point_txn_id: 'x', amount: 500,
        point_at_ms: Date.now(), support_number: hugoCard }), 401, 'device_opposed');
      expectProblem(await replacement.call('POST', '/api/v1/pos/cash-reloads', { point_txn_id: 'x', amount: 500,
        point_at_ms: Date.now(), support_number: hugoCard }), 403, 'permission_denied');
    });

    test('another merchant cannot read or oppose these points (404)', async () => {
      const other = await new Client(server).loginFully('merchant@demo.guichet.fr', secrets);
      expectProblem(await other.call('GET', `/api/v1/wallet/points/${point.id}`), 404, 'point_not_found');
      const listed = await other.call('GET', '/api/v1/wallet/points');
      assert.equal(listed.status, 200, listed.text);
      assert.equal(listed.body.points.some((p) => p.id === point.id), false);
      expectProblem(await other.call('POST', `/api/v1/wallet/points/${point.id}/opposition`, { reason: 'x' }), 404, 'point_not_found');
    });

    test('a web shop takes a single-use payment code made in the holder session', async () => {
      const holder = new HolderClient(server);
      const login = await holder.call('POST', '/api/v1/wallet/holder-session', { email: hugo, password: demoPassword });
      assert.equal(login.status, 200, login.text);
      const made = await holder.call('POST', '/api/v1/wallet/me/payment-codes', {});
      assert.equal(made.status, 201, made.text);
      const code = made.body.code;
      const { device: shop } = await approvedTill(['debit'], { type: 'web_shop' });
      const seen = await shop.call('POST', '/api/v1/pos/balance', { payment_code: code, point_at_ms: Date.now() });
      assert.equal(seen.status, 200, seen.text);
      const start = seen.body.balances.find((b) => b.counter === 'EUR').available;
      const id = shop.txn();
      assert.equal((await shop.debit({ point_txn_id: id, amount: 150, payment_code: code })).status, 201);
      assert.equal((await shop.debit({ point_txn_id: id, amount: 150, payment_code: code })).body.replayed, true);
      assert.equal((await shop.ack(id, true)).status, 200);
      assert.equal(await till.balance(), start - 150);
      expectProblem(await shop.debit({ point_txn_id: shop.txn(), amount: 150, payment_code: code }), 404, 'payment_code_invalid');
      const another = (await holder.call('POST', '/api/v1/wallet/me/payment-codes', {})).body.code;
      expectProblem(await till.debit({ point_txn_id: till.txn(), amount: 150, payment_code: another }), 403, 'permission_denied');
      assert.equal(await till.balance(), start - 150);
    });

    test('the admin test account works at test points and never at real ones', async () => {
      const account = await admin.call('POST', '/api/v1/wallet/pos/test-account', {});
      assert.equal(account.status, 200, account.text);
      const { device } = await approvedTill(['debit'], { is_test: true });
      const before = account.body.balances.find((b) => b.counter === 'EUR').balance;
      const id = device.txn();
      const held = await device.debit({ point_txn_id: id, amount: 400, support_number: account.body.support_number });
      assert.equal(held.status, 201, held.text);
      assert.equal(held.body.is_test, true);
      assert.equal((await device.ack(id, true)).status, 200);
      const after = await admin.call('POST', '/api/v1/wallet/pos/test-account', {});
      assert.equal(after.body.balances.find((b) => b.counter === 'EUR').balance, before - 400);
      expectProblem(await device.debit({ point_txn_id: device.txn(), amount: 100, support_number: hugoCard }), 422, 'test_mismatch');
      expectProblem(await till.debit({ point_txn_id: till.txn(), amount: 100, support_number: account.body.support_number }), 422, 'test_mismatch');
    });
  });
}
