// The settlement screens (W19) as a regional admin uses them, in French: a real paired till takes
// payments and cancels one; from the merchant's page the admin settles it now and reads the
// figures; a second "settle now" is refused in plain words (settlement_not_due) with nothing done;
// the run's page shows debits, cancellations, commission and net to the cent, its point line and
// its documents — the statement PDF downloads as a PDF; the documents are regenerated (a reason
// is required) with the figures unchanged; the list filters by state; the SEPA transfer file is
// made for the one run ticked (the others stay to pay), downloads as pain.001 naming the
// statement, is listed first among the transfer files with that run, and the run is then "Payé". A merchant's staff
// member sees its run but none of the admin's actions, and another merchant's run is not found.
// Axe finds no serious fault on these screens in French and English, and none scrolls sideways on
// a 360 px phone.
// On SQLite, and on PostgreSQL when GUICHET_TEST_PG is set.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, after, describe, test } from 'node:test';
import { backends } from '../support/server.mjs';
import { Till } from '../../tools/pos-sim/lib.mjs';
import { approvedPoint, createMerchant, demoStaff, fundedSupports } from '../../tools/pos-sim/provision.mjs';
import {
  mainHeading, phone, scrollsHorizontally, seriousA11yViolations, useServerAndBrowser, waitForLang, withPage,
} from './browser.mjs';
import { demo, identityServer, logIn, words } from './identity_support.mjs';
import { useStaffSession, waitForLoaded } from './wallet_settlement_support.mjs';

async function noSeriousFaults(page, where) {
  assert.deepEqual(await seriousA11yViolations(page), [], `axe on ${where}`);
}

const cents = (text) => Number(text.replace('−', '-').replace(/[^\d-]/g, ''));

for (const backend of backends()) {
  describe(`wallet settlement screens (${backend})`, () => {
    const suite = useServerAndBrowser(backend, identityServer);
    let staff; let merchant; let point; let till; let funding;
    const tills = [];

    before(async () => {
      staff = await demoStaff(suite.server.url);
      // Holders are funded with cash at another merchant's till, so that this merchant's run has
      // something to pay (cash taken at its own points would be deducted).
      const bank = await createMerchant(staff, `Guichet recharges ${backend}`);
      const fundingPoint = await approvedPoint(staff, bank, { tag: `FUND-${backend}-${process.pid}`, permissions: ['cash_reload'],
        location: 'Crous-UGA-Accueil-Recharges' });
      funding = new Till({ url: suite.server.url });
      await funding.pair(fundingPoint.code);
      tills.push(funding);

      merchant = await createMerchant(staff, `Cafétéria Stendhal ${backend}`);
      const made = await approvedPoint(staff, merchant, { tag: `STL-${backend}-${process.pid}`,
        permissions: ['debit', 'cancel'], location: 'Crous-UGA-RU-Stendhal-Caisse1' });
      point = made.point;
      till = new Till({ url: suite.server.url });
      await till.pair(made.code);
      tills.push(till);
    });
    after(() => { for (const t of tills) t.close(); });

    test('the admin settles a merchant, reads the figures, downloads the statement, regenerates it and pays by SEPA transfer',
      async () => {
        const baseUrl = suite.server.url;
        const [lea, tom] = await fundedSupports(staff, funding, 2, { packs: 1, tag: `st${backend.slice(0, 2)}${process.pid % 10000}` });
        await till.pay({ support_number: lea, amount: 330 });
        await till.pay({ support_number: tom, amount: 450 });
        const coffee = await till.pay({ support_number: tom, amount: 120 });
        await till.cancel(coffee.point_txn_id);
        // 9,00 € of debits, 1,20 € cancelled, 1,5 % of 7,80 € = 11,7 → 0,12 € of commission.
        const net = 900 - 120 - 12;

        // The second "settle now" is refused on purpose: the browser logs the 409.
        await withPage(suite.browser, { locale: 'fr-FR', allowConsole: [/409/] }, async (page) => {
          await useStaffSession(page, baseUrl, staff.admin);
          await page.goto(`${baseUrl}/wallet/merchants/${merchant.id}`);
          await mainHeading(page, merchant.name).waitFor();
          await waitForLang(page, 'fr');
          const section = page.getByTestId('merchant-settlements');
          await section.getByRole('status').filter({ hasText: 'Règlements affichés : 0' }).waitFor();
          await section.getByRole('button', { name: 'Régler maintenant' }).click();
          await section.getByRole('status').filter({ hasText: /Relevé STL-\d+-1 établi : net 7,68\s€\./ }).waitFor();
          const row = section.getByTestId('settlement-runs').getByRole('row').filter({ hasText: 'STL-' });
          assert.match(await row.textContent(), /7,68\s€.*À payer/);

          // Again at once: refused in words, with nothing made.
          await section.getByRole('button', { name: 'Régler maintenant' }).click();
          const refusal = await section.getByRole('alert').textContent();
          assert.match(refusal, /Pas encore : le dernier règlement s’arrête le .* et ce commerçant est réglé tous les 30 jours\./);
          assert.match(refusal, /Rien n’a été fait\./);
          assert.equal(await section.getByTestId('settlement-runs').getByRole('row').filter({ hasText: 'STL-' }).count(), 1);
          await noSeriousFaults(page, 'the merchant page with its settlement');

          await row.getByRole('link').click();
          await page.getByTestId('settlement-figures').waitFor();
          const heading = await page.getByRole('heading', { level: 1 }).textContent();
          assert.match(heading, /^Relevé STL-\d+-1$/);
          assert.equal(cents(await page.getByTestId('figure-debits').textContent()), 900);
          assert.equal(cents(await page.getByTestId('figure-cancellations').textContent()), -120);
          assert.equal(cents(await page.getByTestId('figure-commission').textContent()), -12);
          assert.equal(cents(await page.getByTestId('figure-cash').textContent()), -0);
          assert.equal(cents(await page.getByTestId('figure-net').textContent()), net);
          assert.match(await page.getByTestId('figure-net').textContent(), /^7,68\s€$/);
          assert.match(await page.getByTestId('settlement-figures').textContent(), /Commission \(1,5\s%\)/);
          assert.match(await page.getByTestId('settlement-figures').textContent(), /Virement au commerçant7,68\s€/);
          const line = page.getByTestId('settlement-points').getByRole('row').filter({ hasText: point.location });
          assert.match(await line.textContent(), /9,00\s€.*1,20\s€.*0,12\s€.*7,68\s€/);

          // The merchant statement downloads as a PDF; the point's too; the journal as CSV.
          const [download] = await Promise.all([
            page.waitForEvent('download'),
            page.getByRole('link', { name: 'Relevé du commerçant (PDF)' }).click(),
          ]);
          assert.equal(readFileSync(await download.path()).subarray(0, 5).toString('latin1'), '%PDF-');
          const pdf = await page.request.get(baseUrl + await page.getByRole('link', { name: 'Relevé du commerçant (PDF)' }).getAttribute('href'));
          assert.equal(pdf.status(), 200);
          assert.equal(pdf.headers()['content-type'], 'application/pdf');
          assert.equal((await pdf.body()).subarray(0, 5).toString('latin1'), '%PDF-');
          const pointPdf = await page.request.get(baseUrl + await line.getByRole('link').last().getAttribute('href'));
          assert.equal(pointPdf.headers()['content-type'], 'application/pdf');
          assert.equal((await pointPdf.body()).subarray(0, 5).toString('latin1'), '%PDF-');
          const csv = await page.request.get(baseUrl + await page.getByRole('link', { name: 'Écritures comptables (CSV)' }).getAttribute('href'));
          assert.equal(csv.status(), 200);
          assert.match(await csv.text(), /;/);
          assert.equal(await page.getByRole('link', { name: /Fichier de virements/ }).count(), 0, 'not paid yet');

          // Regeneration: the reason is required; then a new version, the same figures.
          await page.getByRole('button', { name: 'Régénérer les documents' }).click();
          await page.locator('.error-summary').getByText('Saisissez le motif.').waitFor();
          await noSeriousFaults(page, 'the run page with a refused regeneration');
          await page.getByLabel('Motif').fill('Modèle du relevé corrigé');
          await page.getByRole('button', { name: 'Régénérer les documents' }).click();
          await page.getByRole('status').filter({ hasText: 'Les documents sont régénérés (version 2) ; les montants sont inchangés.' }).waitFor();
          assert.equal(cents(await page.getByTestId('figure-net').textContent()), net);
          await page.getByTestId('settlement-versions').getByText('Motif : Modèle du relevé corrigé').waitFor();

          // The list, filtered by state, then the transfer file.
          await page.getByRole('navigation').getByRole('link', { name: 'Règlements' }).click();
          await mainHeading(page, 'Règlements').waitFor();
          await page.getByLabel('État').selectOption({ label: 'À payer' });
          await page.getByLabel('Commerçant').selectOption({ label: merchant.name });
          await page.getByRole('button', { name: 'Filtrer', exact: true }).click();
          await page.waitForURL(/state=to_pay/);
          await page.getByRole('status').filter({ hasText: 'Règlements affichés : 1' }).waitFor();
          const listed = page.getByTestId('settlement-runs').getByRole('row').filter({ hasText: merchant.name });
          const statement = (await listed.getByRole('link').textContent()).trim();
          assert.match(statement, /^STL-\d+-1$/);
          // Only this merchant's run is ticked: the others stay to pay.
          const due = page.getByTestId('transfer-due');
          await due.getByText(statement).waitFor();
          const boxes = due.getByRole('checkbox');
          const others = [];
          for (let i = 0; i < await boxes.count(); i += 1) {
            const label = (await due.locator(`label[for="${await boxes.nth(i).getAttribute('id')}"]`).textContent()).trim();
            if (!label.startsWith(`${statement} `)) {
              await boxes.nth(i).uncheck();
              others.push(label.split(' ')[0]);
            }
          }
          await page.getByTestId('transfer-section').getByRole('status').filter({ hasText: /^Règlements cochés : 1 sur / }).waitFor();
          await noSeriousFaults(page, 'the settlements list');
          await page.getByRole('button', { name: 'Créer le fichier de virements' }).click();
          const made = page.getByTestId('transfer-made');
          await made.waitFor();
          assert.match(await made.textContent(), /Fichier de virements .* créé : 1 règlement\(s\) payé\(s\)/);
          for (const other of others) await due.getByText(other).waitFor();
          // The file is listed first among the transfer files, with the run it paid and its link.
          const listedFile = page.getByTestId('transfer-files').getByRole('row').nth(1);
          await listedFile.getByRole('link', { name: statement }).waitFor();
          assert.equal(await listedFile.getByRole('link', { name: /^STLT-/ }).getAttribute('href'),
            await made.getByRole('link').getAttribute('href'));
          const file = await page.request.get(baseUrl + await made.getByRole('link').getAttribute('href'));
          assert.equal(file.status(), 200);
          assert.match(file.headers()['content-type'], /^application\/xml/);
          const xml = await file.text();
          assert.match(xml, /urn:iso:std:iso:20022:tech:xsd:pain\.001\.001\.09/);
          assert.ok(xml.includes(statement), 'the transfer names the statement');
          await page.getByRole('status').filter({ hasText: 'Règlements affichés : 0' }).waitFor();
          await page.getByLabel('État').selectOption({ label: 'Payé' });
          await page.getByRole('button', { name: 'Filtrer', exact: true }).click();
          await page.getByRole('status').filter({ hasText: 'Règlements affichés : 1' }).waitFor();
          await listed.getByText('Payé').waitFor();
          await listed.getByRole('link').click();
          await mainHeading(page, `Relevé ${statement}`).waitFor();
          assert.match(await page.getByTestId('settlement-state').textContent(), /^Payé$/);
          await page.getByRole('link', { name: 'Fichier de virements qui a payé ce règlement (XML)' }).waitFor();
        });
      });

    test('a merchant’s staff member reads its runs but is offered none of the admin’s actions; the screens fit a phone',
      async () => {
        const baseUrl = suite.server.url;
        const runs = (await staff.admin.call('GET', `/api/v1/wallet/settlements?merchant_id=${merchant.id}`)).body.settlements;
        if (runs.length === 0) {
          const made = await staff.admin.call('POST', `/api/v1/wallet/merchants/${merchant.id}/settlements`, {});
          assert.equal(made.status, 201, made.text);
          runs.push(made.body);
        }
        const people = (await staff.admin.call('GET', '/api/v1/staff')).body.staff;
        const marc = people.find((person) => person.email === demo('merchant'));
        const granted = await staff.admin.call('POST', `/api/v1/staff/${marc.id}/grants`,
          { organisation_id: merchant.id, profile: 'wallet.merchant' });
        assert.ok([201, 409].includes(granted.status), granted.text);

        const stranger = await createMerchant(staff, `Autre commerçant ${backend}`);
        const strangerRun = await staff.admin.call('POST', `/api/v1/wallet/merchants/${stranger.id}/settlements`, {});
        assert.equal(strangerRun.status, 201, strangerRun.text);

        // Another merchant's run answers 404: the browser logs the failed load.
        await withPage(suite.browser, { locale: 'fr-FR', allowConsole: [/404/] }, async (page) => {
          await logIn(page, baseUrl, demo('merchant'));
          await mainHeading(page, words.fr.home).waitFor();
          await page.getByRole('navigation').getByRole('link', { name: 'Règlements' }).click();
          await mainHeading(page, 'Règlements').waitFor();
          await page.getByRole('link', { name: runs[0].statement_id }).waitFor();
          assert.equal(await page.getByTestId('transfer-section').count(), 0);
          await page.getByRole('link', { name: runs[0].statement_id }).click();
          await mainHeading(page, `Relevé ${runs[0].statement_id}`).waitFor();
          await page.getByRole('link', { name: 'Relevé du commerçant (PDF)' }).waitFor();
          assert.equal(await page.getByRole('button', { name: 'Régénérer les documents' }).count(), 0);
          await page.goto(`${baseUrl}/wallet/merchants/${merchant.id}`);
          await page.getByTestId('merchant-settlements').getByRole('link', { name: runs[0].statement_id }).waitFor();
          assert.equal(await page.getByRole('button', { name: 'Régler maintenant' }).count(), 0);
          await noSeriousFaults(page, 'the merchant page as the merchant');
          await page.goto(`${baseUrl}/wallet/settlements/${strangerRun.body.id}`);
          await mainHeading(page, 'Règlement introuvable').waitFor();
          assert.equal((await page.content()).includes(strangerRun.body.statement_id), false);
          await page.goto(`${baseUrl}/wallet/settlements`);
          await page.getByRole('link', { name: runs[0].statement_id }).waitFor();
          assert.equal(await page.getByRole('link', { name: strangerRun.body.statement_id }).count(), 0);

          await page.setViewportSize(phone);
          for (const [path, heading] of [['/wallet/settlements', 'Règlements'],
            [`/wallet/settlements/${runs[0].id}`, `Relevé ${runs[0].statement_id}`]]) {
            await page.goto(baseUrl + path);
            await mainHeading(page, heading).waitFor();
            await waitForLoaded(page);
            assert.equal(await scrollsHorizontally(page), false, `${path} scrolls sideways at 360 px`);
          }
        });
      });

    test('in English the admin’s settlement screens pass axe and fit a phone', async () => {
      const baseUrl = suite.server.url;
      const other = await createMerchant(staff, `Copy shop ${backend}`);
      const made = await staff.admin.call('POST', `/api/v1/wallet/merchants/${other.id}/settlements`, {});
      assert.equal(made.status, 201, made.text);
      await withPage(suite.browser, { locale: 'en-GB' }, async (page) => {
        await useStaffSession(page, baseUrl, staff.admin);
        const screens = [
          ['/wallet/settlements', 'Settlements'],
          [`/wallet/settlements/${made.body.id}`, `Statement ${made.body.statement_id}`],
          [`/wallet/merchants/${other.id}`, other.name],
        ];
        for (const [path, heading] of screens) {
          await page.goto(baseUrl + path);
          await mainHeading(page, heading).waitFor();
          await waitForLang(page, 'en');
          await waitForLoaded(page);
          await noSeriousFaults(page, path);
        }
        assert.match(await page.getByTestId('merchant-settlements').textContent(), /Nothing to pay/);
        await page.goto(`${baseUrl}/wallet/settlements/${made.body.id}`);
        await mainHeading(page, `Statement ${made.body.statement_id}`).waitFor();
        assert.match(await page.getByTestId('settlement-figures').textContent(), /Net€0\.00/);
        await page.setViewportSize(phone);
        for (const [path, heading] of screens) {
          await page.goto(baseUrl + path);
          await mainHeading(page, heading).waitFor();
          await waitForLoaded(page);
          assert.equal(await scrollsHorizontally(page), false, `${path} scrolls sideways at 360 px`);
        }
      });
    });
  });
}
