// A day at a university canteen, on both databases, driven by the point-of-sale simulator
// (tools/pos-sim): the regional admin approves the canteen's tills, students pay by card number
// and by one-time QR code, the network drops at one till and comes back, the payments it took
// offline are replayed (one waits for a reload, then goes through), a payment is cancelled,
// reconciliation of the till against the service matches, the settlement statement adds up to
// the cent against the ledger, and an opposed till is refused.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backends, startServer } from '../support/server.mjs';
import { HolderClient } from './wallet_support.mjs';
import { importTypeScript } from '../support/typescript.mjs';
import { Refusal, Till } from '../../tools/pos-sim/lib.mjs';
import { TILL_PERMISSIONS, approvedPoint, createMerchant, demoStaff, fundedSupports } from '../../tools/pos-sim/provision.mjs';

const qr = await importTypeScript('src/wallet/qr_phone.ts');
const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
const hugo = 'hugo.bernard@etu.demo.guichet.fr';
const hugoCard = '04A1B2C3D4E5F7';
const demoPassword = 'Vercors-Granit-Saule-47';
const MEAL = 330; // a meal, 3,30 €

const euros = (balance) => balance.balances.find((b) => b.counter === 'EUR').available;

async function refusal(promise) {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Refusal) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

async function eventually(what, check, { tries = 100, pauseMs = 100 } = {}) {
  let last;
  for (let i = 0; i < tries; i += 1) {
    last = await check();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  throw new Error(`${what}: not reached`);
}

for (const backend of backends()) {
  describe(`a day at the canteen (${backend})`, () => {
    let server; let staff; let merchant;
    const tills = {};
    const points = {};
    const dir = mkdtempSync(join(tmpdir(), 'canteen-'));
    const cards = {};
    const ledger = { paid: 0, cancelled: 0, cash: 0 }; // what the tills took, in cents
    const journal = []; // caisse1's own journal, as the till knows it, for reconciliation
    let dayStart;
    const note = (taken, operation, amount, state = 'acknowledged') =>
      journal.push({ point_txn_id: taken.point_txn_id, operation, counter: 'EUR', amount, state, at_ms: Date.now() });

    before(async () => {
      server = await startServer({ backend, demo: true, env: { ...fastHashing, GUICHET_SYNC_RETRY_INTERVAL_S: '1' } });
      staff = await demoStaff(server.url);
      merchant = await createMerchant(staff, `RU Diderot ${backend}`);
      // Morning: the admin approves the canteen's two tills and the cafeteria's, each paired.
      for (const [name, location] of [['caisse1', 'Crous-UGA-RU-Diderot-Caisse1'],
        ['caisse2', 'Crous-UGA-RU-Diderot-Caisse2'], ['cafet', 'Crous-UGA-RU-Diderot-Cafet']]) {
        const { point, code } = await approvedPoint(staff, merchant, { tag: `${name}-${backend}`, location,
          permissions: [...TILL_PERMISSIONS, 'reconciliation'] });
        const till = new Till({ url: server.url, statePath: join(dir, `${name}.json`) });
        await till.pair(code);
        tills[name] = till;
        points[name] = point;
      }
      // Three students with a card each, 20 € in cash at the till; Zoé's card has 20 € too.
      const numbers = await fundedSupports(staff, tills.caisse2, 3, { packs: 1, tag: `cd${backend.slice(0, 2)}${process.pid % 10000}` });
      [cards.lea, cards.tom, cards.zoe] = numbers;
      ledger.cash += 3 * 2000;
    });
    after(async () => {
      for (const till of Object.values(tills)) till.close();
      await server?.stop();
    });

    test('students pay by card and by one-time QR code; a payment is cancelled', async () => {
      dayStart = Date.now() - 1000;
      const paid = await tills.caisse1.pay({ support_number: cards.lea, amount: MEAL });
      assert.equal(paid.acknowledgement.state, 'acknowledged');
      note(paid, 'debit', MEAL);
      ledger.paid += MEAL;
      assert.equal(euros(await tills.caisse1.balance({ support_number: cards.lea })), 2000 - MEAL);

      // Hugo pays with the code his phone made (enrolled once, in his session).
      const holder = new HolderClient(server);
      assert.equal((await holder.call('POST', '/api/v1/wallet/holder-session', { email: hugo, password: demoPassword })).status, 200);
      const phone = await qr.generatePhoneKey();
      const enrolled = await holder.call('POST', '/api/v1/wallet/me/phones', { public_key: qr.toBase64Url(phone.publicKey), label: 'Téléphone de Hugo' });
      assert.equal(enrolled.status, 201, enrolled.text);
      await tills.caisse2.cashReload({ support_number: hugoCard, amount: 2000 });
      ledger.cash += 2000;
      const before = euros(await tills.caisse2.balance({ support_number: hugoCard }));
      const code = await qr.makeQrCode(enrolled.body.phone.certificate, phone, 1, Math.floor(Date.now() / 1000));
      const byQr = await tills.caisse2.pay({ qr: code, amount: MEAL });
      assert.equal(byQr.acknowledgement.state, 'acknowledged');
      ledger.paid += MEAL;
      assert.equal(euros(await tills.caisse2.balance({ support_number: hugoCard })), before - MEAL);
      // The same code again, at another till: refused, nothing taken.
      assert.equal((await refusal(tills.cafet.pay({ qr: code, amount: MEAL }))).code, 'qr_replayed');
      assert.equal(euros(await tills.caisse2.balance({ support_number: hugoCard })), before - MEAL);

      // Tom pays a coffee by mistake at the canteen till: the cashier cancels it.
      const coffee = await tills.caisse1.pay({ support_number: cards.tom, amount: 120 });
      ledger.paid += 120;
      const cancelled = await tills.caisse1.cancel(coffee.point_txn_id);
      assert.equal(cancelled.answer.state, 'acknowledged');
      note(coffee, 'debit', 120, 'cancelled');
      note(cancelled, 'cancel', 120);
      ledger.cancelled += 120;
      assert.equal(euros(await tills.caisse1.balance({ support_number: cards.tom })), 2000);
    });

    test('the network drops at a till; its offline payments replay, one waits for a reload then goes through', async () => {
      // Zoé spends most of her money first: 2 € left.
      await tills.caisse2.pay({ support_number: cards.zoe, amount: 1800 });
      ledger.paid += 1800;
      await tills.caisse1.refreshFeeds();
      tills.caisse1.offline = true;
      const lea = await tills.caisse1.pay({ support_number: cards.lea, amount: MEAL });
      const tom = await tills.caisse1.pay({ support_number: cards.tom, amount: MEAL });
      const zoe = await tills.caisse1.pay({ support_number: cards.zoe, amount: MEAL });
      for (const taken of [lea, tom, zoe]) assert.equal(taken.mode, 'offline');
      assert.equal(tills.caisse1.queue.length, 3);
      // Back online: one signed batch, answered per payment.
      tills.caisse1.offline = false;
      const report = await tills.caisse1.sync();
      const states = Object.fromEntries(report.outcomes.map((o) => [o.seq, [o.state, o.code ?? null]]));
      assert.deepEqual(Object.values(states), [['applied', null], ['applied', null], ['waiting', 'awaiting_funds']],
        JSON.stringify(report.outcomes));
      ledger.paid += 2 * MEAL;
      note(lea, 'debit', MEAL);
      note(tom, 'debit', MEAL);
      assert.equal(euros(await tills.caisse2.balance({ support_number: cards.lea })), 2000 - 2 * MEAL);
      assert.equal(euros(await tills.caisse2.balance({ support_number: cards.zoe })), 200, 'nothing taken while it waits');
      // The merchant sees the payment waiting for funds.
      const waiting = await staff.admin.call('GET', `/api/v1/wallet/merchants/${merchant.id}/awaiting-funds`);
      assert.equal(waiting.status, 200, waiting.text);
      assert.equal(JSON.stringify(waiting.body).includes(zoe.point_txn_id), true, waiting.text);
      // Zoé reloads 20 € in cash at the other till: the waiting payment goes through.
      await tills.caisse2.cashReload({ support_number: cards.zoe, amount: 2000 });
      ledger.cash += 2000;
      await eventually('the waiting payment applied', async () =>
        euros(await tills.caisse2.balance({ support_number: cards.zoe })) === 200 + 2000 - MEAL);
      ledger.paid += MEAL;
      note(zoe, 'debit', MEAL);
      const own = await tills.caisse1.call('GET', '/api/v1/sync/report');
      assert.equal(own.status, 200, own.text);
      assert.equal(own.body.waiting.length, 0, own.text);
    });

    test("reconciliation of the canteen till against the service matches", async () => {
      const report = await tills.caisse1.call('POST', '/api/v1/pos/reconciliations',
        { range_start_ms: dayStart, range_end_ms: Date.now() + 1000, transactions: journal });
      assert.equal(report.status, 201, report.text);
      assert.equal(report.body.reconciled, true, report.text);
      assert.equal(report.body.matched, journal.length);
      const pdf = await tills.caisse1.call('GET', report.body.links.point_pdf);
      assert.equal(pdf.status, 200);
    });

    test('the settlement statement adds up to the cent against what the tills took', async () => {
      const made = await staff.admin.call('POST', `/api/v1/wallet/merchants/${merchant.id}/settlements`, {});
      assert.equal(made.status, 201, made.text);
      const run = made.body;
      assert.equal(run.debits_cents, ledger.paid);
      assert.equal(run.cancellations_cents, ledger.cancelled);
      assert.equal(run.cash_reloads_cents, ledger.cash);
      // 1,5 % of what was sold, rounded once on the total.
      assert.equal(run.commission_cents, Math.round((ledger.paid - ledger.cancelled) * 150 / 10000));
      assert.equal(run.net_cents, ledger.paid - ledger.cancelled - run.commission_cents - ledger.cash);
      assert.equal(run.points.reduce((sum, p) => sum + p.net_cents, 0), run.net_cents, 'the points add up to the merchant');
      assert.equal(run.net_cents < 0 ? run.carried_forward_cents : run.payable_cents, Math.abs(run.net_cents));
      // The accounting journal balances: every debit line has its credit.
      const csv = await staff.admin.call('GET', `/api/v1/wallet/settlements/${run.id}/documents/journal.csv`);
      assert.equal(csv.status, 200, csv.text);
      assert.ok(csv.text.split('\n').length > 2, csv.text);
    });

    test('an opposed till is refused, with nothing taken', async () => {
      const opposed = await staff.admin.call('POST', `/api/v1/wallet/points/${points.cafet.id}/opposition`, { reason: 'till stolen' });
      assert.equal(opposed.status, 200, opposed.text);
      const before = euros(await tills.caisse1.balance({ support_number: cards.tom }));
      const refused = await refusal(tills.cafet.pay({ support_number: cards.tom, amount: MEAL }));
      assert.ok(['point_opposed', 'device_opposed'].includes(refused.code), refused.code);
      assert.equal(euros(await tills.caisse1.balance({ support_number: cards.tom })), before);
    });
  });
}
