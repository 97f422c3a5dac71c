// Merchants' fee schedules (W19 "autres frais de gestion") over HTTP on the real binary: a
// regional admin sets a merchant's schedule (refusals with their own codes and nothing applied;
// another region's admin gets 404), a settlement run bills it — fee lines per kind on the run,
// the XML statement, the PDF and the accounting journal, deducted from the net that pain.001 pays
// — and a later change leaves the run as it was. Then `guichet demo` as an operator runs it: the
// demo merchant has two approved points (a till with every permission, a vending machine that
// only debits), and the pairing codes it prints pair working tills; at the next start, paired
// points get no new code. On SQLite, and on PostgreSQL when GUICHET_TEST_PG is set.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backends, projectRoot, startServer } from '../support/server.mjs';
import { expectProblem } from './lib.mjs';
import { Client, demoPassword } from './identity_client.mjs';
import { Till, Refusal } from '../../tools/pos-sim/lib.mjs';
import { approvedPoint, createMerchant, demoStaff } from '../../tools/pos-sim/provision.mjs';

const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
const hugoCard = '04A1B2C3D4E5F7';
const parisToday = () => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(new Date());
const parisYesterday = () => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' })
  .format(new Date(Date.now() - 86_400_000));

function schedule({ perRun = 250, perDebit = 5, perPointMonth = 900, from = parisToday() } = {}) {
  return { effective_from: from, lines: [
    { kind: 'per_run', label_fr: 'Frais de gestion', label_en: 'Management fee', amount_cents: perRun },
    { kind: 'per_debit', label_fr: 'Frais par débit', label_en: 'Fee per debit', amount_cents: perDebit },
    { kind: 'per_point_month', label_fr: 'Location du terminal', label_en: 'Terminal rental', amount_cents: perPointMonth },
  ] };
}

async function download(client, path) {
  const res = await fetch(client.server.url + path, { headers: { cookie: client.cookie } });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}

function pdfText(bytes) {
  const dir = mkdtempSync(join(tmpdir(), 'fees-'));
  writeFileSync(join(dir, 'a.pdf'), bytes);
  return execFileSync('pdftotext', ['-enc', 'UTF-8', join(dir, 'a.pdf'), '-']).toString();
}

for (const backend of backends()) {
  describe(`merchant fees and the demo's points of sale (${backend})`, () => {
    let server; let staff; let national; let lyonAdmin; let merchant; let till; let run;
    const secrets = new Map();
    const dir = mkdtempSync(join(tmpdir(), 'fees-'));

    before(async () => {
      server = await startServer({ backend, demo: true, env: fastHashing });
      staff = await demoStaff(server.url, secrets);
      national = await new Client(server).loginFully('national.admin@demo.guichet.fr', secrets);
      const lyon = (await national.call('GET', '/api/v1/organisations')).body.organisations
        .find((o) => o.name === 'Crous Lyon');
      const email = `fees.lyon.${backend}@demo.guichet.fr`;
      const created = await national.call('POST', '/api/v1/staff', { email, display_name: 'Lyon Admin',
        organisation_id: lyon.id, profiles: ['wallet.regional_admin'], initial_password: 'Tilleul-Orage-Basalte-93' });
      assert.equal(created.status, 201, created.text);
      const first = new Client(server);
      assert.equal((await first.login(email, 'Tilleul-Orage-Basalte-93')).status, 200);
      assert.equal((await first.call('PUT', '/api/v1/me/password', { current_password: 'Tilleul-Orage-Basalte-93',
        new_password: demoPassword })).status, 204);
      lyonAdmin = await new Client(server).loginFully(email, secrets);
      merchant = await createMerchant(staff, `Cafétéria frais ${backend}`);
      const { code } = await approvedPoint(staff, merchant, { tag: `FEES-${backend}`, location: 'Crous-UGA-RU-Frais-Caisse1' });
      till = new Till({ url: server.url });
      await till.pair(code);
      // Hugo's money comes from a cash pack at another merchant's point: this run has none.
      const other = await createMerchant(staff, `Guichet recharges ${backend}`);
      const funding = await approvedPoint(staff, other, { tag: `FUND-${backend}`, location: 'Crous-UGA-RU-Frais-Accueil' });
      const cashier = new Till({ url: server.url });
      await cashier.pair(funding.code);
      for (let i = 0; i < 2; i += 1) await cashier.cashReload({ support_number: hugoCard, amount: 2000 });
    });
    after(async () => { await server?.stop(); });

    test('a regional admin sets the schedule; bad ones are refused with their code, nothing applied; another region gets 404', async () => {
      const path = `/api/v1/wallet/merchants/${merchant.id}/fees`;
      const empty = await staff.admin.call('GET', path);
      assert.equal(empty.status, 200, empty.text);
      assert.equal(empty.body.current, null);
      assert.deepEqual(empty.body.schedules, []);
      const bad = (change) => { const s = schedule(); change(s); return s; };
      expectProblem(await staff.admin.call('PUT', path, bad((s) => { s.lines[0].kind = 'per_year'; })), 422, 'merchant_fee_kind_unknown');
      expectProblem(await staff.admin.call('PUT', path, bad((s) => { s.lines[1].kind = 'per_run'; })), 422, 'merchant_fee_kind_repeated');
      expectProblem(await staff.admin.call('PUT', path, bad((s) => { s.lines[2].amount_cents = 100_001; })), 422, 'merchant_fee_amount_out_of_range');
      expectProblem(await staff.admin.call('PUT', path, bad((s) => { s.lines[0].amount_cents = -1; })), 422, 'merchant_fee_amount_out_of_range');
      expectProblem(await staff.admin.call('PUT', path, bad((s) => { s.lines[0].label_en = ''; })), 422, 'merchant_fee_label_invalid');
      expectProblem(await staff.admin.call('PUT', path, bad((s) => { s.lines = Array(11).fill(s.lines[0]); })), 422, 'merchant_fee_lines_too_many');
      expectProblem(await staff.admin.call('PUT', path, bad((s) => { s.effective_from = '2026-02-30'; })), 422, 'merchant_fee_effective_date_invalid');
      expectProblem(await staff.admin.call('PUT', path, bad((s) => { s.effective_from = parisYesterday(); })), 422, 'merchant_fee_effective_date_past');
      expectProblem(await staff.admin.call('PUT', path, { effective_from: parisToday(), lines: 'none' }), 422, 'validation_failed');
      expectProblem(await staff.admin.call('PUT', path, bad((s) => { s.extra = 1; })), 422, 'validation_failed');
      // Another region's admin learns nothing, even with a valid schedule.
      expectProblem(await lyonAdmin.call('GET', path), 404, 'merchant_not_found');
      expectProblem(await lyonAdmin.call('PUT', path, schedule()), 404, 'merchant_not_found');
      expectProblem(await staff.admin.call('PUT', '/api/v1/wallet/merchants/999999/fees', schedule()), 404, 'merchant_not_found');
      const still = await staff.admin.call('GET', path);
      assert.deepEqual(still.body.schedules, [], 'nothing applied by the refusals');

      const set = await staff.admin.call('PUT', path, schedule());
      assert.equal(set.status, 200, set.text);
      assert.equal(set.body.current.effective_from, parisToday());
      assert.deepEqual(set.body.current.lines.map((l) => [l.kind, l.amount_cents]),
        [['per_run', 250], ['per_debit', 5], ['per_point_month', 900]]);
      assert.equal(set.body.schedules.length, 1);
      const national_read = await national.call('GET', path);
      assert.equal(national_read.status, 200, national_read.text);
      assert.equal(national_read.body.current.id, set.body.current.id);
    });

    test('a run bills the fees per kind on the statement, the journal and the net that pain.001 pays', async () => {
      await till.pay({ support_number: hugoCard, amount: 1000 });
      await till.pay({ support_number: hugoCard, amount: 500 });
      const made = await staff.admin.call('POST', `/api/v1/wallet/merchants/${merchant.id}/settlements`, {});
      assert.equal(made.status, 201, made.text);
      run = made.body;
      // 2.50 € per run + 2 debits × 0.05 €; the monthly rental prorated to a period of seconds
      // comes to less than half a cent: no line.
      assert.equal(run.debits_cents, 1500);
      assert.equal(run.commission_cents, 23);  // 1.5 % of 15 € = 22.5, half up
      assert.equal(run.fees_cents, 260);
      assert.equal(run.net_cents, 1500 - 23 - 260);
      assert.equal(run.payable_cents, 1217);
      assert.equal(run.state, 'to_pay');
      assert.equal(run.points.length, 1);
      assert.equal(run.points[0].fees_cents, 10);

      const xml = await staff.admin.call('GET', `/api/v1/wallet/settlements/${run.id}/documents/statement.xml`);
      assert.equal(xml.status, 200);
      execFileSync('xmllint', ['--noout', '--schema', join(projectRoot, 'docs/settlement-statement.xsd'), '-'], { input: xml.text, stdio: 'pipe' });
      assert.match(xml.text, /<MerchantFee amount="2.50" kind="per_run">Frais de gestion<\/MerchantFee>/);
      assert.match(xml.text, /<Fee amount="0.10" kind="per_debit">Frais par débit \(2 × 0,05\u00a0€\)<\/Fee>/);
      assert.doesNotMatch(xml.text, /per_point_month/);
      const csv = await staff.admin.call('GET', `/api/v1/wallet/settlements/${run.id}/documents/journal.csv`);
      assert.equal(csv.status, 200);
      assert.match(csv.text, /7062/);
      assert.match(csv.text, /Frais de gestion/);
      const text = pdfText((await download(staff.admin, `/api/v1/wallet/settlements/${run.id}/documents/statement.pdf`)).bytes);
      assert.ok(text.includes('Frais de gestion') && text.includes('Frais par débit'), text);

      // A new schedule changes nothing of the run made: regenerating keeps every figure.
      const changed = await staff.admin.call('PUT', `/api/v1/wallet/merchants/${merchant.id}/fees`, schedule({ perRun: 9000 }));
      assert.equal(changed.status, 200, changed.text);
      assert.equal(changed.body.schedules.length, 2);
      const regenerated = await staff.admin.call('POST', `/api/v1/wallet/settlements/${run.id}/regenerations`, { reason: 'new fees' });
      assert.equal(regenerated.status, 200, regenerated.text);
      for (const field of ['fees_cents', 'net_cents', 'payable_cents', 'commission_cents']) {
        assert.equal(regenerated.body[field], run[field], field);
      }
      // pain.001 pays the net after fees.
      const exported = await staff.admin.call('POST', '/api/v1/wallet/settlement-transfers', {});
      assert.equal(exported.status, 201, exported.text);
      assert.equal(exported.body.total_cents, 1217);
      const file = await staff.admin.call('GET', exported.body.file);
      assert.equal(file.status, 200);
      assert.match(file.text, /<InstdAmt Ccy="EUR">12.17<\/InstdAmt>/);
    });

    test('the demo seeds a merchant with two approved points whose printed pairing codes work', async () => {
      const bin = process.env.GUICHET_BIN ?? join(projectRoot, 'build/guichet');
      const codes = join(dir, 'demo-pos.txt');
      const load = () => {
        const out = execFileSync(bin, ['demo', '--load-only', '--pos-codes', codes],
          { env: { ...process.env, ...fastHashing, GUICHET_DB: server.db }, encoding: 'utf8' });
        const lines = readFileSync(codes, 'utf8').trim().split('\n');
        for (const line of lines) assert.ok(out.includes(line), `printed too: ${line}\n${out}`);
        return Object.fromEntries(lines.map((line) => {
          const m = /^(\S+) (\S+) point (\d+) (?:code (\S+) until \S+|(paired))$/.exec(line);
          assert.ok(m, line);
          return [m[1], { type: m[2], point: Number(m[3]), code: m[4] ?? null }];
        }));
      };
      const fresh = load();  // a second start: the points exist, not paired yet: fresh codes
      assert.deepEqual(Object.keys(fresh).sort(), ['DEMO-CAISSE-1', 'DEMO-DISTRIB-1']);
      assert.equal(fresh['DEMO-CAISSE-1'].type, 'till');
      assert.equal(fresh['DEMO-DISTRIB-1'].type, 'vending_machine');
      assert.match(fresh['DEMO-CAISSE-1'].code, /^\S{8}$/);

      const merchants = (await staff.admin.call('GET', '/api/v1/wallet/merchants')).body.merchants;
      const demo = merchants.filter((m) => m.name === 'Cafétéria Diderot (démo)');
      assert.equal(demo.length, 1, 'one demo merchant, however many starts');
      assert.equal(demo[0].commission_bp, 150);
      const points = (await staff.admin.call('GET', '/api/v1/wallet/points')).body.points
        .filter((p) => p.merchant_id === demo[0].id);
      assert.equal(points.length, 2);
      const tillPoint = points.find((p) => p.institution_id === 'DEMO-CAISSE-1');
      const vending = points.find((p) => p.institution_id === 'DEMO-DISTRIB-1');
      assert.equal(tillPoint.state, 'approved');
      assert.equal(vending.state, 'approved');
      for (const permission of ['create_holders', 'clock_check', 'download_base', 'cash_reload', 'debit',
        'reconciliation', 'offline', 'cancel', 'load:MEAL', 'debit:MEAL']) {
        assert.ok(tillPoint.permissions.includes(permission), permission);
      }
      assert.deepEqual(vending.permissions, ['debit']);
      const fees = await staff.admin.call('GET', `/api/v1/wallet/merchants/${demo[0].id}/fees`);
      assert.equal(fees.status, 200, fees.text);
      assert.equal(fees.body.current.lines.length, 3);

      // The codes pair: the till takes a cash pack and a payment, then cancels it; the
      // vending machine debits and may do nothing else.
      const demoTill = new Till({ url: server.url });
      await demoTill.pair(fresh['DEMO-CAISSE-1'].code);
      await demoTill.clock();
      await demoTill.cashReload({ support_number: hugoCard, amount: 1000 });
      const paid = await demoTill.pay({ support_number: hugoCard, amount: 330 });
      assert.equal(paid.mode, 'online');
      assert.equal(paid.acknowledgement.state, 'acknowledged');
      await demoTill.cancel(paid.point_txn_id);
      const machine = new Till({ url: server.url });
      await machine.pair(fresh['DEMO-DISTRIB-1'].code);
      const vended = await machine.pay({ support_number: hugoCard, amount: 120 });
      assert.equal(vended.acknowledgement.state, 'acknowledged');
      await assert.rejects(machine.cashReload({ support_number: hugoCard, amount: 1000 }),
        (error) => error instanceof Refusal && error.code === 'permission_denied');

      // The next start prints no code for the paired points.
      const later = load();
      assert.equal(later['DEMO-CAISSE-1'].code, null);
      assert.equal(later['DEMO-DISTRIB-1'].code, null);
      assert.equal(later['DEMO-CAISSE-1'].point, tillPoint.id);
    });
  });
}
