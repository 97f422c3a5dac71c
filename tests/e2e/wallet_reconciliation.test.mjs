// The reconciliation and offline screens (W18, W16) on a point's and a merchant's pages.
// In English, from a point's page: a range typed in Paris time (the browser runs in another time
// zone) is refused in words when the end comes first, then by the server (reconciliation_no_upload)
// before the till sent its list; once it did, the reconciliation reads "Concordant" with its two
// payments matched, and its report page gives the counts, the totals per counter and operation,
// the matched lines and a PDF. The merchant's daily reconciliation hour reads "off", is set, and
// reads back after a reload. In French: a till goes offline, takes a payment, one its holder
// cannot pay and one with an unknown card, then uploads them; the point's offline report shows the
// batch, the events by state and the refused payment with its reason in words, the payment
// waiting for funds shows there and on the merchant's page. Axe finds no serious fault on these screens, and none scrolls sideways on a 360 px phone.
// On SQLite, and on PostgreSQL when GUICHET_TEST_PG is set.
import assert from 'node:assert/strict';
import { before, after, describe, test } from 'node:test';
import { backends } from '../support/server.mjs';
import { Till } from '../../tools/pos-sim/lib.mjs';
import { approvedPoint, createMerchant, demoStaff, fundedSupports } from '../../tools/pos-sim/provision.mjs';
import {
  mainHeading, phone, scrollsHorizontally, seriousA11yViolations, useServerAndBrowser, waitForLang, withPage,
} from './browser.mjs';
import { identityServer } from './identity_support.mjs';
import { pairedPoint, useStaffSession, waitForLoaded } from './wallet_settlement_support.mjs';

// Chromium inherits this zone: the form must still read what is typed as Paris time.
process.env.TZ = 'America/Cayenne';

async function noSeriousFaults(page, where) {
  assert.deepEqual(await seriousA11yViolations(page), [], `axe on ${where}`);
}

/** An instant as the Paris date ("2026-11-29") and time ("14:05") a person would type. */
function paris(ms) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Paris', hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit',
  }).formatToParts(new Date(ms)).map((part) => [part.type, part.value]));
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` };
}

async function fillRange(page, start, end) {
  const form = page.getByTestId('recon-form');
  const [from, to] = [form.getByRole('group', { name: 'Start' }), form.getByRole('group', { name: 'End (excluded)' })];
  await from.getByLabel('Date').fill(start.date);
  await from.getByLabel('Time').fill(start.time);
  await to.getByLabel('Date').fill(end.date);
  await to.getByLabel('Time').fill(end.time);
}

for (const backend of backends()) {
  describe(`wallet reconciliation and offline screens (${backend})`, () => {
    const suite = useServerAndBrowser(backend, identityServer);
    let staff; let funding;
    const tills = [];
    let tag = 0;
    const unique = (prefix) => `${prefix}-${backend}-${process.pid}-${(tag += 1)}`;

    before(async () => {
      staff = await demoStaff(suite.server.url);
      const bank = await createMerchant(staff, `Accueil recharges ${backend}`);
      const fundingPoint = await approvedPoint(staff, bank, { tag: unique('FUND'), permissions: ['cash_reload'],
        location: 'Crous-UGA-Accueil-Recharges' });
      funding = new Till({ url: suite.server.url });
      await funding.pair(fundingPoint.code);
      tills.push(funding);
    });
    after(() => { for (const t of tills) t.close(); });

    test('in English: a point is reconciled over a Paris-time range and reads concordant; the daily hour is set', async () => {
      const baseUrl = suite.server.url;
      const merchant = await createMerchant(staff, unique('Library copies'));
      const { point, till } = await pairedPoint(staff, merchant, { tag: unique('REC'),
        permissions: ['debit', 'reconciliation'], location: 'Crous-UGA-BU-Droit-Copieur2' });
      tills.push(till);
      const [card] = await fundedSupports(staff, funding, 1, { packs: 1, tag: `rc${backend.slice(0, 2)}${process.pid % 10000}` });
      const startMs = Date.now() - 60_000;
      const journal = [];
      for (const amount of [20, 140]) {
        const paid = await till.pay({ support_number: card, amount });
        journal.push({ point_txn_id: paid.point_txn_id, operation: 'debit', counter: 'EUR', amount,
          state: 'acknowledged', at_ms: Date.now() });
      }

      await withPage(suite.browser, { locale: 'en-GB', allowConsole: [/422/] }, async (page) => {
        await useStaffSession(page, baseUrl, staff.admin);
        await page.goto(`${baseUrl}/wallet/points/${point.id}`);
        await mainHeading(page, `Point of sale ${point.location}`).waitFor();
        await waitForLang(page, 'en');
        const section = page.getByTestId('point-reconciliation-section');
        await section.getByRole('status').filter({ hasText: 'Reconciliations: 0' }).waitFor();

        // The end before the start: refused before anything is sent.
        const start = paris(startMs);
        const end = paris(Date.now() + 120_000);
        await fillRange(page, start, { date: start.date, time: '00:00' });
        await section.getByRole('button', { name: 'Reconcile' }).click();
        await section.locator('.error-summary').getByText('The end must come after the start.').waitFor();

        // Right range, but the till has not sent its list yet: the server's refusal in words.
        await fillRange(page, start, end);
        await section.getByRole('button', { name: 'Reconcile' }).click();
        await section.locator('.error-summary')
          .getByText('This point of sale sent no list of operations over this period: there is nothing to reconcile.').waitFor();
        await noSeriousFaults(page, 'the point page with a refused reconciliation');

        const upload = await till.call('POST', '/api/v1/pos/reconciliation-uploads',
          { range_start_ms: startMs, range_end_ms: Date.now() + 60_000, transactions: journal });
        assert.equal(upload.status, 202, upload.text);
        await section.getByRole('button', { name: 'Reconcile' }).click();
        await section.getByRole('status').filter({ hasText: /Reconciliation no\. \d+: concordant, 2 matched operation\(s\)\./ }).waitFor();
        const row = section.getByTestId('point-reconciliations').getByRole('row').filter({ hasText: 'Run from this screen' });
        assert.match(await row.textContent(), /2Concordant$/);
        assert.equal(await section.locator('.error-summary').count(), 0);

        await row.getByRole('link').click();
        await mainHeading(page, /^Reconciliation no\. \d+$/).waitFor();
        assert.equal(await page.getByTestId('recon-verdict').textContent(), 'Concordant');
        assert.equal(await page.getByTestId('recon-matched').textContent(), '2');
        assert.equal(await page.getByTestId('recon-differing-count').textContent(), '0');
        assert.match(await page.getByTestId('recon-summary').textContent(),
          new RegExp(`from .*${Number(start.time.slice(0, 2))}:${start.time.slice(3)}.* to `));
        // The totals per counter and operation on both sides, and the matched lines.
        const totals = page.getByTestId('recon-totals').getByRole('row').filter({ hasText: 'Debit (EUR)' });
        assert.match(await totals.textContent(), /Debit \(EUR\)€1\.60 \(2 acknowledged of 2\)€1\.60 \(2 acknowledged of 2\)$/);
        const matched = page.getByTestId('recon-matched-lines');
        for (const line of journal) await matched.getByRole('row').filter({ hasText: line.point_txn_id }).waitFor();
        assert.equal(await matched.getByRole('row').count(), 1 + journal.length);
        assert.equal(await page.getByTestId('recon-matched-truncated').count(), 0);
        const pdf = await page.request.get(baseUrl + await page.getByRole('link', { name: 'Report (PDF)' }).getAttribute('href'));
        assert.equal(pdf.status(), 200);
        assert.equal(pdf.headers()['content-type'], 'application/pdf');
        assert.equal((await pdf.body()).subarray(0, 5).toString('latin1'), '%PDF-');
        const xml = await page.request.get(baseUrl + await page.getByRole('link', { name: 'Report (XML)' }).getAttribute('href'));
        assert.match(xml.headers()['content-type'], /^application\/xml/);
        await noSeriousFaults(page, 'the reconciliation report');

        // The merchant's daily reconciliation at 21:00, Paris time.
        await page.goto(`${baseUrl}/wallet/merchants/${merchant.id}`);
        await mainHeading(page, merchant.name).waitFor();
        const schedule = page.getByTestId('recon-schedule');
        await schedule.getByTestId('recon-schedule-current').filter({ hasText: 'Daily reconciliation off.' }).waitFor();
        await schedule.getByLabel('Hour').selectOption({ label: '21:00' });
        await schedule.getByRole('button', { name: 'Save the schedule' }).click();
        await schedule.getByRole('status').filter({ hasText: 'The reconciliation schedule is saved.' }).waitFor();
        assert.equal(await page.getByTestId('recon-schedule-current').textContent(),
          'Daily reconciliation on, at 21:00 (Paris time).');
        // Read back from the server on the next visit.
        await page.reload();
        await mainHeading(page, merchant.name).waitFor();
        await page.getByTestId('recon-schedule-current')
          .filter({ hasText: 'Daily reconciliation on, at 21:00 (Paris time).' }).waitFor();
        assert.equal(await schedule.getByLabel('Hour').inputValue(), '21');
        await noSeriousFaults(page, 'the merchant page');

        await page.setViewportSize(phone);
        for (const path of [`/wallet/points/${point.id}`, page.url().replace(baseUrl, '')]) {
          await page.goto(baseUrl + path);
          await page.getByRole('heading', { level: 1 }).waitFor();
          await waitForLoaded(page);
          assert.equal(await scrollsHorizontally(page), false, `${path} scrolls sideways at 360 px`);
        }
      });
    });

    test('en français : un lot hors ligne au rapport du point, un paiement en attente de fonds chez le commerçant', async () => {
      const baseUrl = suite.server.url;
      const merchant = await createMerchant(staff, unique('Laverie'));
      const { point, till } = await pairedPoint(staff, merchant, { tag: unique('OFF'),
        permissions: ['debit', 'offline'], location: 'Crous-UGA-Cite-Berlioz-Laverie' });
      tills.push(till);
      const [card] = await fundedSupports(staff, funding, 1, { packs: 1, tag: `of${backend.slice(0, 2)}${process.pid % 10000}` });

      await till.refreshFeeds();
      till.offline = true;
      await till.pay({ support_number: card, amount: 300 });
      const waiting = await till.pay({ support_number: card, amount: 5000 });
      await till.pay({ support_number: 'INCONNU0042', amount: 100 });
      till.offline = false;
      const report = await till.sync({ feeds: false });
      assert.deepEqual(report.outcomes.map((o) => o.state), ['applied', 'waiting', 'refused'], JSON.stringify(report.outcomes));
      assert.equal(report.outcomes[2].code, 'support_not_found');
      const batchId = report.batches[0].batch_id;

      await withPage(suite.browser, { locale: 'fr-FR' }, async (page) => {
        await useStaffSession(page, baseUrl, staff.admin);
        await page.goto(`${baseUrl}/wallet/points/${point.id}`);
        await mainHeading(page, `Point de vente ${point.location}`).waitFor();
        await waitForLang(page, 'fr');
        const offline = page.getByTestId('point-offline');
        await offline.getByTestId('offline-batches').getByRole('row').filter({ hasText: batchId }).waitFor();
        assert.match(await offline.getByTestId('offline-batches').getByRole('row').filter({ hasText: batchId }).textContent(),
          /n° 1 à 3 \(3\)/);
        assert.equal(await offline.getByTestId('offline-state-applied').textContent(), '1');
        assert.equal(await offline.getByTestId('offline-state-waiting').textContent(), '1');
        assert.equal(await offline.getByTestId('offline-state-refused').textContent(), '1');
        // The refused payment, newest first, with its code in words.
        const refusedRow = offline.getByTestId('offline-refused').getByRole('row').filter({ hasText: 'n° 3,' });
        assert.match(await refusedRow.textContent(), /Paiement.*Carte inconnue \(support_not_found\)/);
        assert.equal(await offline.getByTestId('offline-refused').getByRole('row').count(), 2);
        const row = offline.getByTestId('offline-waiting').getByRole('row').filter({ hasText: waiting.point_txn_id });
        assert.match(await row.textContent(), new RegExp(`50,00\\s€.*${card}`));
        await noSeriousFaults(page, 'the point’s offline report');

        await page.getByRole('link', { name: merchant.name }).click();
        await mainHeading(page, merchant.name).waitFor();
        const awaiting = page.getByTestId('merchant-awaiting');
        await awaiting.getByRole('status').filter({ hasText: 'Paiements en attente : 1' }).waitFor();
        const line = awaiting.getByRole('row').filter({ hasText: waiting.point_txn_id });
        assert.match(await line.textContent(), new RegExp(`${point.location}.*50,00\\s€.*${card}`));
        await line.getByRole('link', { name: point.location }).waitFor();
        await noSeriousFaults(page, 'the merchant page with a payment awaiting funds');

        await page.setViewportSize(phone);
        for (const path of [`/wallet/points/${point.id}`, `/wallet/merchants/${merchant.id}`]) {
          await page.goto(baseUrl + path);
          await page.getByRole('heading', { level: 1 }).waitFor();
          await waitForLoaded(page);
          assert.equal(await scrollsHorizontally(page), false, `${path} scrolls sideways at 360 px`);
        }
      });
    });
  });
}
