// The archive of `guichet export` and the holder's own export cover the acceptance network:
// a regional admin creates a merchant (with an IBAN) and a point, the paired till takes a cash
// reload, a card debit and a QR payment whose replay is refused; then the archive has merchants,
// points, their history, point transactions, QR phones, used codes and refusals, sync batches and
// events, fraud rules and alerts — each file with exactly the columns its README documents, and
// no IBAN nor QR code text anywhere. Hugo's wallet export lists his phone (no key material) and
// his point transactions; Camille's lists none of them. On SQLite, and PostgreSQL when set.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backends, projectRoot, startServer } from '../support/server.mjs';
import { importTypeScript } from '../support/typescript.mjs';
import { expectProblem, request } from './lib.mjs';
import { Client } from './identity_client.mjs';
import { HolderClient, sql } from './wallet_support.mjs';

const qr = await importTypeScript('src/wallet/qr_phone.ts');
const bin = process.env.GUICHET_BIN ?? join(projectRoot, 'build/guichet');
const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
const demoPassword = 'Vercors-Granit-Saule-47';
const hugoCard = '04A1B2C3D4E5F7';
const iban = 'FR7630006000011234567890189';
const ibanDigits = '1234567890'; // the part of the IBAN that is never shown
const networkFiles = ['merchants.jsonl', 'points.jsonl', 'point_accounts.jsonl', 'point_events.jsonl', 'pos_transactions.jsonl',
  'qr_phones.jsonl', 'qr_codes_used.jsonl', 'qr_codes_printed.jsonl', 'qr_refusals.jsonl', 'sync_batches.jsonl',
  'sync_events.jsonl', 'fraud_rules.jsonl', 'fraud_alerts.jsonl'];

const sha256Hex = (text) => createHash('sha256').update(text).digest('hex');

/** A paired till: signs METHOD\nTARGET\nTIMESTAMP\nSHA256HEX(BODY) with its Ed25519 key. */
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
    assert.equal(r.status, 201, r.text);
    this.id = r.body.device_id;
  }
  call(method, target, json) {
    const body = JSON.stringify(json);
    const timestamp = String(Date.now());
    const canonical = [method, target, timestamp, sha256Hex(body)].join('\n');
    return request(this.server, method, target, { body, headers: {
      'content-type': 'application/json', 'x-device-id': String(this.id), 'x-device-timestamp': timestamp,
      'x-device-signature': sign(null, Buffer.from(canonical), this.privateKey).toString('base64url') } });
  }
  txn() { this.seq += 1; return `${this.id}-${Date.now()}-${this.seq}`; }
  async paid(path, fields) {
    const id = this.txn();
    const made = await this.call('POST', path, { point_txn_id: id, point_at_ms: Date.now(), ...fields });
    assert.equal(made.status, 201, made.text);
    if (path === '/api/v1/pos/debits') {
      const acked = await this.call('POST', '/api/v1/pos/acknowledgements', { point_txn_id: id, positive: true, point_at_ms: Date.now() });
      assert.equal(acked.status, 200, acked.text);
    }
    return id;
  }
}

/** Writes with the server running: on SQLite, waits for the server's own writers (jobs). */
function write(server, query) {
  if (server.backend === 'postgres') return sql(server, query);
  return execFileSync('sqlite3', ['-cmd', '.timeout 10000', server.db.replace(/^sqlite:/, ''), query], { encoding: 'utf8' });
}

function lines(dir, name) {
  return readFileSync(join(dir, name), 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
}

/** The field names the archive's README documents for one file, in order. */
function documentedColumns(readme, file) {
  const start = readme.indexOf(`## ${file} (`);
  assert.ok(start >= 0, `README documents ${file}`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^\| `([a-z0-9_]+)` \|/gm)].map((m) => m[1]);
}

for (const backend of backends()) {
  describe(`export of the acceptance network (${backend})`, () => {
    let server; let dir; let hugo; let camille; let phoneRow; let qrText;
    const secrets = new Map();

    before(async () => {
      server = await startServer({ backend, demo: true, env: fastHashing });
      dir = mkdtempSync(join(tmpdir(), 'guichet-export-pos-'));
      const admin = await new Client(server).loginFully('regional.admin@demo.guichet.fr', secrets);
      const region = (await admin.call('GET', '/api/v1/organisations')).body.organisations.find((o) => o.kind === 'region');
      const merchant = await admin.call('POST', '/api/v1/wallet/merchants', { region_id: region.id,
        name: 'Cafétéria Export', iban, bic: 'AGRIFRPP', commission_bp: 150, contact_email: 'cafet@example.org' });
      assert.equal(merchant.status, 201, merchant.text);
      const point = await admin.call('POST', '/api/v1/wallet/points', { merchant_id: merchant.body.id,
        institution_id: 'EXPORT-1', location: 'Crous-UGA-RU-Diderot-Caisse1', address: '1 rue Diderot, Grenoble', type: 'till',
        permissions: ['debit', 'cash_reload'] });
      assert.equal(point.status, 201, point.text);
      const approved = await admin.call('POST', `/api/v1/wallet/points/${point.body.id}/approve`, {});
      assert.equal(approved.status, 200, approved.text);
      const till = new Till(server);
      await till.pair(approved.body.pairing.code);

      await till.paid('/api/v1/pos/cash-reloads', { amount: 2000, support_number: hugoCard });
      await till.paid('/api/v1/pos/debits', { amount: 350, support_number: hugoCard });

      hugo = new HolderClient(server);
      const login = await hugo.call('POST', '/api/v1/wallet/holder-session', { email: 'hugo.bernard@etu.demo.guichet.fr', password: demoPassword });
      assert.equal(login.status, 200, login.text);
      const phone = await qr.generatePhoneKey();
      const enrolled = await hugo.call('POST', '/api/v1/wallet/me/phones', { public_key: qr.toBase64Url(phone.publicKey), label: 'Téléphone de Hugo' });
      assert.equal(enrolled.status, 201, enrolled.text);
      phoneRow = enrolled.body.phone;
      qrText = await qr.makeQrCode(phoneRow.certificate, phone, 1, Math.floor(Date.now() / 1000));
      await till.paid('/api/v1/pos/debits', { amount: 330, qr: qrText });
      expectProblem(await till.call('POST', '/api/v1/pos/debits', { point_txn_id: till.txn(), amount: 330, qr: qrText,
        point_at_ms: Date.now() }), 409, 'qr_replayed');

      // Rows no flow above makes (an offline batch, a fraud rule and alert), written straight into
      // the tables the archive reads. The till's refused replay above is recorded by the service
      // in wallet_qr_refusals for the fraud rules.
      const now = Date.now();
      write(server, `INSERT INTO sync_batches (device_id, batch_id, first_seq, last_seq, signature, signed_sha256, received_at)
        VALUES (${till.id}, 'b-1', 1, 1, 'sig', '${sha256Hex('b')}', ${now})`);
      write(server, `INSERT INTO sync_events (device_id, seq, batch_row_id, kind, at_ms, payload, content_sha256, state,
        received_at) SELECT ${till.id}, 1, id, 'pos.debit', ${now}, '{"support_number":"${hugoCard}"}', '${sha256Hex('e')}',
        'applied', ${now} FROM sync_batches WHERE batch_id = 'b-1'`);
      write(server, `INSERT INTO wallet_fraud_rules (organisation_id, kind, enabled, count, window_s, amount_cents, site_depth,
        action, updated_at) VALUES (${region.id}, 'velocity', 1, 5, 60, 0, 3, 'alert', ${now})
        ON CONFLICT (organisation_id, kind) DO NOTHING`);
      write(server, `INSERT INTO wallet_fraud_alerts (organisation_id, rule, subject, support_id, point_id, summary, facts,
        action_taken, state, created_at) VALUES (${region.id}, 'velocity', 'support:1', NULL, ${point.body.id},
        '5 debits in 60 s', '[]', 'alert', 'open', ${now})`);

      camille = new HolderClient(server);
      const other = await camille.call('POST', '/api/v1/wallet/holder-session', { email: 'camille.martin@etu.demo.guichet.fr', password: demoPassword });
      assert.equal(other.status, 200, other.text);

      execFileSync(bin, ['export', '--db', server.db, '--out', join(dir, 'archive')], { env: { ...process.env, ...fastHashing }, stdio: 'pipe' });
    });
    after(async () => { await server?.stop(); if (dir) rmSync(dir, { recursive: true, force: true }); });

    test('the archive has every acceptance-network file, with exactly the documented columns', () => {
      const archive = join(dir, 'archive');
      const manifest = JSON.parse(readFileSync(join(archive, 'manifest.json'), 'utf8'));
      const readme = readFileSync(join(archive, 'README.md'), 'utf8');
      for (const name of networkFiles) {
        const entry = manifest.files.find((f) => f.name === name);
        assert.ok(entry, `${name} is in the manifest`);
        assert.equal(createHash('sha256').update(readFileSync(join(archive, name))).digest('hex'), entry.sha256, name);
        const columns = documentedColumns(readme, name);
        assert.ok(columns.length > 0, name);
        for (const row of lines(archive, name)) assert.deepEqual(Object.keys(row), columns, name);
      }
      // The demo has its own merchant and points (app/demo_pos.cpp): this test's are found by name.
      const merchant = lines(archive, 'merchants.jsonl').find((m) => m.name === 'Cafétéria Export');
      assert.ok(merchant);
      assert.equal(merchant.iban_last4, '0189');
      assert.equal(merchant.commission_bp, 150);
      const point = lines(archive, 'points.jsonl').find((p) => p.merchant_id === merchant.organisation_id);
      assert.equal(point.merchant_id, merchant.organisation_id);
      assert.equal(point.state, 'approved');
      assert.equal(point.permissions, 'debit cash_reload');
      assert.ok(point.device_id > 0);
      // The point's takings sit in its own sales account until a settlement run (3,50 + 3,30 €).
      const [pointAccount] = lines(archive, 'point_accounts.jsonl').filter((a) => a.point_id === point.id);
      assert.equal(pointAccount.ledger, 'EUR');
      const salesAccount = lines(archive, 'ledger_accounts.jsonl').find((a) => a.id === pointAccount.ledger_account_id);
      assert.equal(salesAccount.code, 'point.sales');
      assert.equal(salesAccount.organisation_id, merchant.organisation_id);
      assert.equal(salesAccount.credits_posted - salesAccount.debits_posted, 680);
      assert.deepEqual(lines(archive, 'point_events.jsonl').filter((e) => e.point_id === point.id).map((e) => e.event),
        ['created', 'approved', 'paired']);
      const txns = lines(archive, 'pos_transactions.jsonl');
      assert.deepEqual(txns.map((t) => [t.operation, t.amount, t.state, t.payer_kind]), [
        ['cash_reload', 2000, 'acknowledged', 'support'], ['debit', 350, 'acknowledged', 'support'],
        ['debit', 330, 'acknowledged', 'qr']]);
      const [phone] = lines(archive, 'qr_phones.jsonl').filter((p) => p.kind === 'phone');
      assert.equal(phone.id, phoneRow.id);
      assert.equal(phone.public_key, phoneRow.public_key);
      assert.equal(phone.status, 'active');
      const used = lines(archive, 'qr_codes_used.jsonl');
      assert.deepEqual(used.map((u) => [u.phone_id, u.counter]), [[phone.id, 1]]);
      assert.equal(txns[2].qr_code_id, used[0].id);
      const refusals = lines(archive, 'qr_refusals.jsonl');
      assert.deepEqual(refusals.map((r) => [r.code, r.claimed_phone_id, r.point_id]), [['qr_replayed', phone.id, point.id]]);
      const [event] = lines(archive, 'sync_events.jsonl');
      assert.equal(event.batch_id, lines(archive, 'sync_batches.jsonl')[0].id);
      assert.equal(JSON.parse(event.payload).support_number, hugoCard, 'the operator keeps what the device sent');
      assert.ok(lines(archive, 'fraud_rules.jsonl').some((r) => r.kind === 'velocity' && typeof r.enabled === 'boolean'));
      assert.deepEqual(lines(archive, 'fraud_alerts.jsonl').map((a) => [a.rule, a.point_id, a.state]), [['velocity', point.id, 'open']]);
    });

    test('no IBAN, QR code text, certificate or secret anywhere in the archive', () => {
      const archive = join(dir, 'archive');
      for (const name of readdirSync(archive)) {
        const text = readFileSync(join(archive, name), 'utf8');
        assert.ok(!text.includes(ibanDigits), `${name} holds the IBAN`);
        assert.ok(!text.includes(qrText), `${name} holds a QR code`);
        assert.ok(!text.includes(phoneRow.certificate), `${name} holds a certificate`);
        assert.ok(!/iban_sealed|password_hash|\$argon2|totp_secret|token_hash|code_hash/.test(text), `${name} holds a secret`);
      }
    });

    test('a holder\'s own export lists its phones and point transactions, and not another holder\'s', async () => {
      const mine = await hugo.call('GET', '/api/v1/wallet/me/export');
      assert.equal(mine.status, 200, mine.text);
      assert.deepEqual(mine.body.qr_phones.map((p) => [p.id, p.kind, p.label, p.status, p.revoked_at_ms]),
        [[phoneRow.id, 'phone', 'Téléphone de Hugo', 'active', null]]);
      assert.ok(mine.body.qr_phones[0].enrolled_at_ms > 0);
      assert.ok(!mine.text.includes(phoneRow.public_key) && !mine.text.includes(phoneRow.certificate), 'no key material');
      assert.deepEqual(mine.body.pos_transactions.map((t) => [t.merchant, t.point.location, t.operation, t.amount, t.state]), [
        ['Cafétéria Export', 'Crous-UGA-RU-Diderot-Caisse1', 'cash_reload', 2000, 'acknowledged'],
        ['Cafétéria Export', 'Crous-UGA-RU-Diderot-Caisse1', 'debit', 350, 'acknowledged'],
        ['Cafétéria Export', 'Crous-UGA-RU-Diderot-Caisse1', 'debit', 330, 'acknowledged']]);
      assert.equal(mine.body.pos_transactions[1].support_number, hugoCard);
      assert.ok(mine.body.pos_transactions.every((t) => t.point_at_ms > 0 && t.acknowledged_at_ms > 0));

      const revoked = await hugo.call('DELETE', `/api/v1/wallet/me/phones/${phoneRow.id}`);
      assert.equal(revoked.status, 200, revoked.text);
      const after = (await hugo.call('GET', '/api/v1/wallet/me/export')).body.qr_phones[0];
      assert.equal(after.status, 'revoked');
      assert.equal(after.revoked_by, 'holder');
      assert.ok(after.revoked_at_ms >= after.enrolled_at_ms);

      const theirs = await camille.call('GET', '/api/v1/wallet/me/export');
      assert.equal(theirs.status, 200, theirs.text);
      assert.deepEqual(theirs.body.qr_phones, []);
      assert.deepEqual(theirs.body.pos_transactions, []);
    });
  });
}
