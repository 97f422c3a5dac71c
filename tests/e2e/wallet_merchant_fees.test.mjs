// The fee editor on the merchant page as a regional admin uses it: no fees at first, a bad
// amount refused in words before anything is sent, then a schedule saved and shown as in force
// (and the server has it); axe finds no serious fault, in French and in English, and nothing
// scrolls sideways on a 360 px phone.
// On SQLite, and on PostgreSQL when GUICHET_TEST_PG is set.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { backends } from '../support/server.mjs';
import {
  mainHeading, phone, scrollsHorizontally, seriousA11yViolations, useServerAndBrowser, waitForLang, withPage,
} from './browser.mjs';
import { ApiClient, demo, identityServer } from './identity_support.mjs';

const iban = 'FR7630006000011234567890189';

async function useSession(page, baseUrl, api) {
  const [name, value] = api.cookie.split('=');
  await page.context().addCookies([{ name, value, url: baseUrl }]);
  await page.context().addInitScript(() => localStorage.setItem('guichet.session', '1'));
}

for (const backend of backends()) {
  describe(`merchant fees editor (${backend})`, () => {
    const suite = useServerAndBrowser(backend, identityServer);
    let admin; let merchant;

    before(async () => {
      admin = new ApiClient(suite.server.url);
      await admin.enrol(demo('regional.admin'));
      const region = (await admin.call('GET', '/api/v1/organisations')).body.organisations
        .find((organisation) => organisation.kind === 'region');
      const made = await admin.call('POST', '/api/v1/wallet/merchants', {
        region_id: region.id, name: `Laverie frais ${process.pid}`, iban, bic: 'AGRIFRPP', commission_bp: 150,
        contact_email: 'laverie@example.org' });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      merchant = made.body;
    });

    test('a regional admin sets the fees of a merchant from the merchant page', async () => {
      const baseUrl = suite.server.url;
      await withPage(suite.browser, { locale: 'fr-FR' }, async (page) => {
        await useSession(page, baseUrl, admin);
        await page.goto(`${baseUrl}/wallet/merchants/${merchant.id}`);
        await mainHeading(page, merchant.name).waitFor();
        await waitForLang(page, 'fr');
        const section = page.getByTestId('merchant-fees');
        await section.getByText('Aucun frais : les règlements ne prélèvent que la commission.').waitFor();
        await section.getByRole('button', { name: 'Modifier les frais' }).click();
        const editor = page.getByTestId('fees-editor');
        await editor.waitFor();
        // Refused in words before anything is sent.
        await editor.locator('#fees-per_run-amount').fill('2000');
        await editor.getByRole('button', { name: 'Enregistrer les frais' }).click();
        await page.locator('.error-summary').getByText(/Saisissez un montant en euros de 0 à 1 000/).waitFor();
        assert.deepEqual(await seriousA11yViolations(page), [], 'axe on the fee editor with an error');

        await editor.locator('#fees-per_run-amount').fill('2,50');
        await editor.locator('#fees-per_debit-amount').fill('0,05');
        await editor.locator('#fees-per_point_month-amount').fill('9,90');
        await editor.getByRole('button', { name: 'Enregistrer les frais' }).click();
        await page.getByRole('status').filter({ hasText: 'Frais enregistrés' }).waitFor();
        const table = section.getByRole('table');
        await table.waitFor();
        const text = await table.textContent();
        assert.match(text, /Par règlement/);
        assert.match(text, /Frais de gestion/);
        assert.match(text, /2,50\s€/);
        assert.match(text, /0,05\s€/);
        assert.match(text, /9,90\s€/);
        assert.deepEqual(await seriousA11yViolations(page), [], 'axe on the fees in force (fr)');
      });
      const saved = await admin.call('GET', `/api/v1/wallet/merchants/${merchant.id}/fees`);
      assert.equal(saved.status, 200);
      assert.deepEqual(saved.body.current.lines.map((line) => [line.kind, line.amount_cents]),
        [['per_run', 250], ['per_debit', 5], ['per_point_month', 990]]);

      await withPage(suite.browser, { locale: 'en-GB' }, async (page) => {
        await useSession(page, baseUrl, admin);
        await page.goto(`${baseUrl}/wallet/merchants/${merchant.id}`);
        await mainHeading(page, merchant.name).waitFor();
        await waitForLang(page, 'en');
        const table = page.getByTestId('merchant-fees').getByRole('table');
        await table.waitFor();
        assert.match(await table.textContent(), /Per settlement run.*Management fee.*€2\.50/s);
        assert.deepEqual(await seriousA11yViolations(page), [], 'axe on the fees in force (en)');
        await page.setViewportSize(phone);
        await page.getByTestId('merchant-fees').getByRole('button', { name: 'Change the fees' }).click();
        await page.getByTestId('fees-editor').waitFor();
        assert.equal(await scrollsHorizontally(page), false, 'the fees and their editor fit a 360 px phone');
      });
    });
  });
}
