// Settlement and reconciliation end to end over HTTP on the real binary: a regional admin creates
// a merchant with two points, which take debits, a cancellation and a cash pack; the admin runs
// the merchant's settlement (figures checked to the cent), downloads the statement PDF (read with
// pdftotext), a point's statement, the XML and the accounting journal, regenerates the documents
// (same figures), exports the pain.001 file paying the run (valid against the EPC XSD; the run is
// then paid); a second run too early is refused with its code and nothing applied; another
// merchant gets 404 on the run. Then a point reconciles its own list (one amount differs, one
// transaction is unknown to the point) and gets the report with links to its PDF and XML.
// On SQLite, and on PostgreSQL when GUICHET_TEST_PG is set.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backends, projectRoot, startServer } from '../support/server.mjs';
import { expectProblem, request } from './lib.mjs';
import { Client } from './identity_client.mjs';
import { sql } from './wallet_support.mjs';

const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
const hugoCard = '04A1B2C3D4E5F7';
const iban = 'FR7630006000011234567890189';
const sha256Hex = (text) => createHash('sha256').update(text).digest('hex');

/** A till signing its requests with its Ed25519 key (docs/pos-protocol.md). */
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
  headers(method, target, body) {
    const timestamp = String(Date.now());
    const canonical = [method, target, timestamp, sha256Hex(body)].join('\n');
    return {
      'x-device-id': String(this.id),
      'x-device-timestamp': timestamp,
      'x-device-signature': sign(null, Buffer.from(canonical), this.privateKey).toString('base64url'),
    };
  }
  call(method, target, json) {
    const body = json === undefined ? '' : JSON.stringify(json);
    const headers = this.headers(method, target, body);
    if (json !== undefined) headers['content-type'] = 'application/json';
    return request(this.server, method, target, { headers, body: json === undefined ? undefined : body });
  }
  async bytes(target) {
    const res = await fetch(this.server.url + target, { headers: this.headers('GET', target, '') });
    return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
  }
  txn() { this.seq += 1; return `${this.id}-${Date.now()}-${this.seq}`; }
  async sale(amount) {
    const id = this.txn();
    const held = await this.call('POST', '/api/v1/pos/debits', { point_txn_id: id, amount, point_at_ms: Date.now(), support_number: hugoCard });
    assert.equal(held.status, 201, held.text);
    const acked = await this.call('POST', '/api/v1/pos/acknowledgements', { point_txn_id: id, positive: true, point_at_ms: Date.now() });
    assert.equal(acked.status, 200, acked.text);
    return acked.body;
  }
}

/** The bytes of a staff download (PDF) with the client's session. */
async function download(client, path) {
  const res = await fetch(client.server.url + path, { headers: { cookie: client.cookie } });
  return { status: res.status, type: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()) };
}

function pdfText(bytes) {
  const dir = mkdtempSync(join(tmpdir(), 'settlement-'));
  writeFileSync(join(dir, 'a.pdf'), bytes);
  return execFileSync('pdftotext', ['-enc', 'UTF-8', join(dir, 'a.pdf'), '-']).toString();
}

for (const backend of backends()) {
  describe(`wallet settlement and reconciliation (${backend})`, () => {
    let server; let admin; let merchant; let region; let first; let second; let run;
    const secrets = new Map();
    const permissions = ['clock_check', 'debit', 'cancel', 'cash_reload', 'reconciliation'];

    async function approvedTill(label, merchantId = merchant.id) {
      const created = await admin.call('POST', '/api/v1/wallet/points', {
        merchant_id: merchantId, institution_id: `${label}-${Date.now()}`, location: `Crous-UGA-RU-Diderot-${label}`,
        address: '1 rue Diderot, Grenoble', type: 'till', permissions });
      assert.equal(created.status, 201, created.text);
      const approved = await admin.call('POST', `/api/v1/wallet/points/${created.body.id}/approve`, {});
      assert.equal(approved.status, 200, approved.text);
      const till = new Till(server);
      await till.pair(approved.body.pairing.code);
      till.point = approved.body.point;
      return till;
    }

    before(async () => {
      server = await startServer({ backend, demo: true, env: fastHashing });
      admin = await new Client(server).loginFully('regional.admin@demo.guichet.fr', secrets);
      region = (await admin.call('GET', '/api/v1/organisations')).body.organisations.find((o) => o.kind === 'region');
      const made = await admin.call('POST', '/api/v1/wallet/merchants', {
        region_id: region.id, name: `Cafétéria ${backend}`, iban, bic: 'AGRIFRPP', commission_bp: 150,
        contact_email: 'cafet@example.org' });
      assert.equal(made.status, 201, made.text);
      merchant = made.body;
      first = await approvedTill('Caisse1');
      second = await approvedTill('Caisse2');
    });
    after(async () => { await server?.stop(); });

    test('a run settles debits, a cancellation and a cash pack to the cent, once', async () => {
      const cash = await first.call('POST', '/api/v1/pos/cash-reloads', { point_txn_id: first.txn(), amount: 2000,
        point_at_ms: Date.now(), support_number: hugoCard });
      assert.equal(cash.status, 201, cash.text);
      await first.sale(1000);
      await second.sale(600);
      const cancelled = await first.sale(400);
      const cancel = await first.call('POST', '/api/v1/pos/cancellations', { point_txn_id: first.txn(),
        cancels_point_txn_id: cancelled.point_txn_id, point_at_ms: Date.now() });
      assert.equal(cancel.status, 201, cancel.text);

      const made = await admin.call('POST', `/api/v1/wallet/merchants/${merchant.id}/settlements`, {});
      assert.equal(made.status, 201, made.text);
      run = made.body;
      assert.equal(run.debits_cents, 2000);
      assert.equal(run.cancellations_cents, 400);
      assert.equal(run.commission_cents, 24);  // 1.5 % of 16 €
      assert.equal(run.cash_reloads_cents, 2000);
      assert.equal(run.net_cents, 2000 - 400 - 24 - 2000);
      assert.equal(run.payable_cents, 0);
      assert.equal(run.carried_forward_cents, 424);
      assert.equal(run.state, 'nothing_to_pay');
      assert.equal(run.transactions, 5);
      assert.equal(run.points.length, 2);
      assert.equal(run.points.reduce((sum, p) => sum + p.net_cents, 0), run.net_cents);

      // Too early for a second run: refused with its code, nothing applied.
      expectProblem(await admin.call('POST', `/api/v1/wallet/merchants/${merchant.id}/settlements`, {}), 409, 'settlement_not_due');
      const listed = await admin.call('GET', `/api/v1/wallet/settlements?merchant_id=${merchant.id}`);
      assert.equal(listed.status, 200, listed.text);
      assert.equal(listed.body.settlements.length, 1);
    });

    test('the statement downloads as PDF, per point, XML and accounting journal; regenerating keeps the figures', async () => {
      const pdf = await download(admin, `/api/v1/wallet/settlements/${run.id}/documents/statement.pdf`);
      assert.equal(pdf.status, 200);
      assert.match(pdf.type, /application\/pdf/);
      const text = pdfText(pdf.bytes);
      assert.ok(text.includes(run.statement_id), text);
      assert.ok(text.includes('Caisse1') && text.includes('Caisse2'), text);
      const point = await download(admin, `/api/v1/wallet/settlements/${run.id}/points/${second.point.id}/statement.pdf`);
      assert.equal(point.status, 200);
      assert.ok(pdfText(point.bytes).includes('Caisse2'));
      const xml = await admin.call('GET', `/api/v1/wallet/settlements/${run.id}/documents/statement.xml`);
      assert.equal(xml.status, 200);
      execFileSync('xmllint', ['--noout', '--schema', join(projectRoot, 'docs/settlement-statement.xsd'), '-'], { input: xml.text, stdio: 'pipe' });
      const csv = await admin.call('GET', `/api/v1/wallet/settlements/${run.id}/documents/journal.csv`);
      assert.equal(csv.status, 200);
      assert.match(csv.headers.get('content-type'), /text\/csv/);
      expectProblem(await admin.call('GET', `/api/v1/wallet/settlements/${run.id}/documents/other.pdf`), 404, 'document_not_found');

      const regenerated = await admin.call('POST', `/api/v1/wallet/settlements/${run.id}/regenerations`, { reason: 'new logo' });
      assert.equal(regenerated.status, 200, regenerated.text);
      assert.equal(regenerated.body.document_version, 2);
      assert.equal(regenerated.body.document_versions.length, 2);
      for (const field of ['debits_cents', 'cancellations_cents', 'commission_cents', 'net_cents', 'payable_cents', 'state']) {
        assert.equal(regenerated.body[field], run[field], field);
      }
      expectProblem(await admin.call('POST', `/api/v1/wallet/settlements/${run.id}/regenerations`, {}), 422, 'validation_failed');
    });

    test('a cutoff in the future is refused with its code', async () => {
      expectProblem(await admin.call('POST', `/api/v1/wallet/merchants/${merchant.id}/settlements`,
        { cutoff_ms: Date.now() + 86_400_000 }), 422, 'settlement_cutoff_invalid');
      expectProblem(await admin.call('POST', '/api/v1/wallet/merchants/999999/settlements', {}), 404, 'merchant_not_found');
    });

    test('a run with something to pay is paid by a pain.001 file valid against the EPC schema', async () => {
      const made = await admin.call('POST', '/api/v1/wallet/merchants', {
        region_id: region.id, name: `Laverie ${backend}`, iban, bic: 'AGRIFRPP', commission_bp: 200,
        contact_email: 'laverie@example.org' });
      assert.equal(made.status, 201, made.text);
      const till = await approvedTill('Laverie1', made.body.id);
      for (let i = 0; i < 2; i += 1) {  // funds for this test and the next ones, at the other merchant
        const cash = await first.call('POST', '/api/v1/pos/cash-reloads', { point_txn_id: first.txn(), amount: 2000,
          point_at_ms: Date.now(), support_number: hugoCard });
        assert.equal(cash.status, 201, cash.text);
      }
      await till.sale(1250);
      const settled = await admin.call('POST', `/api/v1/wallet/merchants/${made.body.id}/settlements`, {});
      assert.equal(settled.status, 201, settled.text);
      assert.equal(settled.body.commission_cents, 25);
      assert.equal(settled.body.payable_cents, 1225);
      assert.equal(settled.body.state, 'to_pay');
      const exported = await admin.call('POST', '/api/v1/wallet/settlement-transfers', {});
      assert.equal(exported.status, 201, exported.text);
      assert.ok(exported.body.runs >= 1);
      const file = await admin.call('GET', exported.body.file);
      assert.equal(file.status, 200, file.text);
      const dir = mkdtempSync(join(tmpdir(), 'pain001-'));
      writeFileSync(join(dir, 'transfers.xml'), file.text);
      execFileSync('xmllint', ['--noout', '--schema', join(projectRoot, 'tests/schemas/EPC132-08_2023_V1.0_pain.001.001.09.xsd'),
        join(dir, 'transfers.xml')], { stdio: 'pipe' });
      assert.ok(file.text.includes(settled.body.statement_id));
      assert.match(file.text, /<InstdAmt Ccy="EUR">12.25<\/InstdAmt>/);
      const paid = await admin.call('GET', `/api/v1/wallet/settlements/${settled.body.id}`);
      assert.equal(paid.body.state, 'paid');
      assert.equal(paid.body.transfer_file_id, exported.body.id);
      expectProblem(await admin.call('POST', '/api/v1/wallet/settlement-transfers', {}), 422, 'settlement_nothing_to_pay');
    });

    test('the admin pays chosen runs; a bad choice pays nothing; transfer files are listed newest first', async () => {
      const cash = await first.call('POST', '/api/v1/pos/cash-reloads', { point_txn_id: first.txn(), amount: 2000,
        point_at_ms: Date.now(), support_number: hugoCard });
      assert.equal(cash.status, 201, cash.text);
      const toPay = [];
      for (const name of ['Boulangerie', 'Kiosque']) {
        const made = await admin.call('POST', '/api/v1/wallet/merchants', {
          region_id: region.id, name: `${name} ${backend}`, iban, bic: 'AGRIFRPP', commission_bp: 100,
          contact_email: 'chosen@example.org' });
        assert.equal(made.status, 201, made.text);
        const till = await approvedTill(`${name}1`, made.body.id);
        await till.sale(500);
        const settled = await admin.call('POST', `/api/v1/wallet/merchants/${made.body.id}/settlements`, {});
        assert.equal(settled.status, 201, settled.text);
        assert.equal(settled.body.state, 'to_pay');
        toPay.push(settled.body);
      }
      const [chosen, left] = toPay;
      const stateOf = async (id) => (await admin.call('GET', `/api/v1/wallet/settlements/${id}`)).body.state;
      const files = async (query = '') => {
        const r = await admin.call('GET', `/api/v1/wallet/settlement-transfers${query}`);
        assert.equal(r.status, 200, r.text);
        return r.body;
      };
      const before = await files();

      // Malformed choices, a run of another region, a run not to pay: refused, nothing paid.
      for (const body of [{ run_ids: [] }, { run_ids: [chosen.id, chosen.id] }, { run_ids: ['x'] }, { run_ids: [0] },
        { run_ids: chosen.id }, { run_ids: [chosen.id], other: 1 }]) {
        expectProblem(await admin.call('POST', '/api/v1/wallet/settlement-transfers', body), 422, 'validation_failed');
      }
      const national = await new Client(server).loginFully('national.admin@demo.guichet.fr', secrets);
      const lyon = (await national.call('GET', '/api/v1/organisations')).body.organisations
        .find((o) => o.kind === 'region' && o.id !== region.id);
      const lyonMerchant = await national.call('POST', '/api/v1/wallet/merchants', {
        region_id: lyon.id, name: `Cafétéria Lyon ${backend}`, iban, bic: 'AGRIFRPP', commission_bp: 100,
        contact_email: 'lyon@example.org' });
      assert.equal(lyonMerchant.status, 201, lyonMerchant.text);
      const lyonRun = await national.call('POST', `/api/v1/wallet/merchants/${lyonMerchant.body.id}/settlements`, {});
      assert.equal(lyonRun.status, 201, lyonRun.text);
      const outside = await admin.call('POST', '/api/v1/wallet/settlement-transfers', { run_ids: [chosen.id, lyonRun.body.id] });
      expectProblem(outside, 404, 'settlement_not_found');
      expectProblem(await admin.call('POST', '/api/v1/wallet/settlement-transfers', { run_ids: [chosen.id, 99999999] }),
        404, 'settlement_not_found');
      const notDue = await admin.call('POST', '/api/v1/wallet/settlement-transfers', { run_ids: [run.id, chosen.id] });
      expectProblem(notDue, 409, 'settlement_not_to_pay');
      assert.equal(await stateOf(chosen.id), 'to_pay');
      assert.equal(await stateOf(left.id), 'to_pay');
      assert.equal((await files()).transfer_files.length, before.transfer_files.length);

      // The chosen run only.
      const paid = await admin.call('POST', '/api/v1/wallet/settlement-transfers', { run_ids: [chosen.id] });
      assert.equal(paid.status, 201, paid.text);
      assert.equal(paid.body.runs, 1);
      assert.equal(paid.body.total_cents, chosen.payable_cents);
      assert.equal(await stateOf(chosen.id), 'paid');
      assert.equal(await stateOf(left.id), 'to_pay');
      const file = await admin.call('GET', paid.body.file);
      assert.ok(file.text.includes(chosen.statement_id) && !file.text.includes(left.statement_id));
      expectProblem(await admin.call('POST', '/api/v1/wallet/settlement-transfers', { run_ids: [chosen.id] }),
        409, 'settlement_not_to_pay');

      // Without a choice, every run to pay in scope (today's behaviour).
      const rest = await admin.call('POST', '/api/v1/wallet/settlement-transfers', {});
      assert.equal(rest.status, 201, rest.text);
      assert.equal(await stateOf(left.id), 'paid');

      const listed = await files();
      assert.deepEqual(listed.transfer_files.slice(0, 2).map((f) => f.id), [rest.body.id, paid.body.id]);
      const [newest, older] = listed.transfer_files;
      assert.ok(newest.paid_runs.some((r) => r.id === left.id));
      assert.deepEqual(older.paid_runs, [{ id: chosen.id, merchant_id: chosen.merchant_id, statement_id: chosen.statement_id,
        payable_cents: chosen.payable_cents }]);
      assert.equal(older.total_cents, chosen.payable_cents);
      assert.equal(older.file, paid.body.file);
      assert.equal(older.message_id, paid.body.message_id);
      assert.equal(listed.next_before, null);
      const page = await files('?limit=1');
      assert.deepEqual(page.transfer_files.map((f) => f.id), [rest.body.id]);
      assert.equal(page.next_before, rest.body.id);
      const next = await files(`?limit=1&before=${page.next_before}`);
      assert.deepEqual(next.transfer_files.map((f) => f.id), [paid.body.id]);
      for (const query of ['limit=101', 'limit=0', 'before=x']) {
        expectProblem(await admin.call('GET', `/api/v1/wallet/settlement-transfers?${query}`), 400, 'invalid_parameter');
      }

      // Another region's file is neither listed nor downloaded here; the national scope holds both.
      const lyonPath = sql(server, `SELECT path FROM organisations WHERE id = ${lyon.id}`)[0][0];
      sql(server, `INSERT INTO wallet_settlement_transfer_files (message_id, scope_path, runs, total_cents, body, created_at)
        VALUES ('STLT-LYON-${backend}', '${lyonPath}', 0, 0, '<x/>', 0)`);
      const lyonFile = Number(sql(server, `SELECT id FROM wallet_settlement_transfer_files WHERE message_id = 'STLT-LYON-${backend}'`)[0][0]);
      assert.equal((await files('?limit=100')).transfer_files.some((f) => f.id === lyonFile), false);
      expectProblem(await admin.call('GET', `/api/v1/wallet/settlement-transfers/${lyonFile}/file`), 404, 'settlement_transfer_not_found');
      const nationalFiles = await national.call('GET', '/api/v1/wallet/settlement-transfers?limit=100');
      assert.equal(nationalFiles.status, 200, nationalFiles.text);
      const seen = nationalFiles.body.transfer_files.map((f) => f.id);
      assert.ok(seen.includes(lyonFile) && seen.includes(paid.body.id), JSON.stringify(seen));
      const merchantStaff = await new Client(server).loginFully('merchant@demo.guichet.fr', secrets);
      assert.equal((await merchantStaff.call('GET', '/api/v1/wallet/settlement-transfers')).status, 403);
    });

    test('another merchant gets 404 on this run and its documents', async () => {
      const other = await new Client(server).loginFully('merchant@demo.guichet.fr', secrets);
      expectProblem(await other.call('GET', `/api/v1/wallet/settlements/${run.id}`), 404, 'settlement_not_found');
      expectProblem(await other.call('GET', `/api/v1/wallet/settlements/${run.id}/documents/statement.xml`), 404, 'settlement_not_found');
      const listed = await other.call('GET', '/api/v1/wallet/settlements');
      assert.equal(listed.status, 200, listed.text);
      assert.equal(listed.body.settlements.some((s) => s.id === run.id), false);
      const refused = await other.call('POST', `/api/v1/wallet/merchants/${merchant.id}/settlements`, {});
      assert.equal(refused.status, 403, refused.text);
    });

    test('a point reconciles its own list: one amount differs, one transaction is missing at the point', async () => {
      const start = Date.now();
      const a = await first.sale(300);
      const b = await first.sale(450);
      const mine = [
        { point_txn_id: a.point_txn_id, operation: 'debit', counter: 'EUR', amount: 300, state: 'acknowledged', at_ms: a.point_at_ms },
      ];
      // The point recorded b with another amount, and lost c from its list.
      mine.push({ point_txn_id: b.point_txn_id, operation: 'debit', counter: 'EUR', amount: 500, state: 'acknowledged', at_ms: b.point_at_ms });
      const c = await first.sale(200);
      const report = await first.call('POST', '/api/v1/pos/reconciliations', { range_start_ms: start, range_end_ms: Date.now() + 1000, transactions: mine });
      assert.equal(report.status, 201, report.text);
      assert.equal(report.body.reconciled, false);
      assert.equal(report.body.matched, 1);
      assert.equal(report.body.differing.length, 1);
      assert.equal(report.body.differing[0].point_txn_id, b.point_txn_id);
      assert.deepEqual(report.body.differing[0].differences, ['amount']);
      assert.equal(report.body.missing_at_point.length, 1);
      assert.equal(report.body.missing_at_point[0].point_txn_id, c.point_txn_id);
      assert.equal(report.body.missing_at_service.length, 0);
      // Totals per counter and operation on both sides, and the matched lines, as in the PDF/XML.
      assert.deepEqual(report.body.point_totals, [
        { counter: 'EUR', operation: 'debit', acknowledged_count: 2, acknowledged_amount: 800, count: 2 }]);
      assert.deepEqual(report.body.service_totals, [
        { counter: 'EUR', operation: 'debit', acknowledged_count: 3, acknowledged_amount: 950, count: 3 }]);
      assert.equal(report.body.matched_lines.length, 1);
      assert.equal(report.body.matched_lines[0].point_txn_id, a.point_txn_id);
      assert.equal(report.body.matched_lines[0].service.amount, 300);
      assert.deepEqual(report.body.matched_lines[0].differences, []);
      assert.equal(report.body.matched_lines_truncated, false);
      const again = await admin.call('GET', `/api/v1/wallet/reconciliations/${report.body.id}`);
      assert.equal(again.status, 200, again.text);
      assert.deepEqual(again.body.service_totals, report.body.service_totals);
      assert.deepEqual(again.body.matched_lines, report.body.matched_lines);
      const list = await admin.call('GET', `/api/v1/wallet/points/${first.point.id}/reconciliations`);
      assert.equal(list.status, 200, list.text);
      const inList = list.body.reconciliations.find((r) => r.id === report.body.id);
      assert.deepEqual(inList.point_totals, report.body.point_totals);
      assert.equal(inList.matched_lines, undefined, 'lists leave the matched lines out');
      const pdf = await first.bytes(report.body.links.point_pdf);
      assert.equal(pdf.status, 200);
      assert.ok(pdfText(pdf.bytes).length > 0);
      const staffPdf = await download(admin, report.body.links.pdf);
      assert.equal(staffPdf.status, 200);
      const xml = await admin.call('GET', report.body.links.xml);
      assert.equal(xml.status, 200);
      execFileSync('xmllint', ['--noout', '--schema', join(projectRoot, 'docs/reconciliation-report.xsd'), '-'], { input: xml.text, stdio: 'pipe' });
      // Another point cannot read it; bad input is refused with its code.
      const other = await second.bytes(report.body.links.point_pdf);
      assert.equal(other.status, 404);
      expectProblem(await first.call('POST', '/api/v1/pos/reconciliations', { range_start_ms: start, range_end_ms: Date.now(),
        transactions: [{ point_txn_id: 'x', operation: 'debit', counter: 'EUR', amount: -5, state: 'acknowledged', at_ms: start + 1 }] }),
      422, 'reconciliation_input_invalid');
    });

    test('a point uploads its list; the merchant schedule reconciles it and staff can run one over a range', async () => {
      const start = Date.now();
      const sale = await second.sale(350);
      const upload = await second.call('POST', '/api/v1/pos/reconciliation-uploads', { range_start_ms: start, range_end_ms: Date.now() + 1000,
        transactions: [{ point_txn_id: sale.point_txn_id, operation: 'debit', counter: 'EUR', amount: 350, state: 'acknowledged', at_ms: sale.point_at_ms }] });
      assert.equal(upload.status, 202, upload.text);
      const never = await admin.call('GET', `/api/v1/wallet/merchants/${merchant.id}/reconciliation-schedule`);
      assert.equal(never.status, 200, never.text);
      assert.deepEqual(never.body, { merchant_id: merchant.id, enabled: false, hour: 0, last_run_day: '' });
      const schedule = await admin.call('PUT', `/api/v1/wallet/merchants/${merchant.id}/reconciliation-schedule`, { enabled: true, hour: 0 });
      assert.equal(schedule.status, 200, schedule.text);
      assert.equal(schedule.body.enabled, true);
      const read = await admin.call('GET', `/api/v1/wallet/merchants/${merchant.id}/reconciliation-schedule`);
      assert.equal(read.status, 200, read.text);
      assert.deepEqual([read.body.merchant_id, read.body.enabled, read.body.hour], [merchant.id, true, 0]);
      expectProblem(await admin.call('GET', '/api/v1/wallet/merchants/99999999/reconciliation-schedule'), 404, 'merchant_not_found');
      const staff = await admin.call('POST', `/api/v1/wallet/points/${second.point.id}/reconciliations`, { range_start_ms: start, range_end_ms: Date.now() + 1000 });
      assert.equal(staff.status, 201, staff.text);
      assert.equal(staff.body.reconciled, true, staff.text);
      assert.equal(staff.body.source, 'staff');
      const other = await new Client(server).loginFully('merchant@demo.guichet.fr', secrets);
      expectProblem(await other.call('GET', `/api/v1/wallet/reconciliations/${staff.body.id}`), 404, 'reconciliation_not_found');
      expectProblem(await other.call('PUT', `/api/v1/wallet/merchants/${merchant.id}/reconciliation-schedule`, { enabled: true, hour: 3 }), 404, 'merchant_not_found');
      expectProblem(await other.call('GET', `/api/v1/wallet/merchants/${merchant.id}/reconciliation-schedule`), 404, 'merchant_not_found');
    });
  });
}
