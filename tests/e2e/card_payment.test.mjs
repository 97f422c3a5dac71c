// A payer in a real browser: a holder sends a third-party reload link; the payer, without an
// account, opens the link's page, chooses an amount, goes to the acquirer simulator's page,
// types a test card (first an invalid number, then the 3-D-Secure-like card and its code) and
// lands on Guichet's return page; the holder's account is credited by the signed notification.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends } from '../support/server.mjs';
import { startCardAcquirerSimulator, TEST_CARDS, CHALLENGE_CODE } from '../support/card-acquirer-simulator/simulator.mjs';
import { request } from '../api/lib.mjs';
import { useServerAndBrowser, withPage } from './browser.mjs';

const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };

for (const backend of backends()) {
  describe(`card payment page (${backend})`, () => {
    // Filled in by the first before() hook; the server's hook (registered next, run next) reads it.
    const env = { ...fastHashing, GUICHET_CARD_ACQUIRER_API_KEY: 'e2e-key', GUICHET_CARD_ACQUIRER_SECRET: 'e2e-secret' };
    let simulator;
    before(async () => {
      simulator = await startCardAcquirerSimulator({ apiKey: 'e2e-key', secret: 'e2e-secret' });
      env.GUICHET_CARD_ACQUIRER_URL = simulator.url;
    });
    after(async () => { await simulator?.stop(); });
    const suite = useServerAndBrowser(backend, { demo: true, env });

    test('a third party pays a reload link on the acquirer page', async () => {
      const server = suite.server;
      const login = await request(server, 'POST', '/api/v1/wallet/holder-session',
        { json: { email: 'hugo.bernard@etu.demo.guichet.fr', password: 'Vercors-Granit-Saule-47' } });
      assert.equal(login.status, 200, login.text);
      const cookie = /guichet_holder=[^;]*/.exec(login.headers.get('set-cookie'))[0];
      const holder = (method, path, json) => request(server, method, path,
        { json, headers: { cookie, 'x-csrf-token': login.body.csrf_token } });
      const euros = async () => (await holder('GET', '/api/v1/wallet/me/accounts')).body.accounts
        .find((a) => a.counter.code === 'EUR').balance;
      const before = await euros();
      const link = await holder('POST', '/api/v1/wallet/me/reload-links', {});  // the payer chooses
      assert.equal(link.status, 201, link.text);

      // The amount below the minimum is refused on purpose: the browser logs its 422.
      await withPage(suite.browser, { locale: 'fr-FR', allowConsole: [/status of 422/] }, async (page) => {
        // The link's own page (no account): the payer types an amount in euros.
        await page.goto(link.body.url);
        await page.getByLabel(/Montant en euros/).fill('12');
        await page.getByRole('button', { name: /Payer par carte/ }).click();
        await page.getByRole('alert').filter({ hasText: 'at least 30.00 EUR' }).waitFor();  // below the minimum
        await page.getByLabel(/Montant en euros/).fill('32,00');
        await page.getByRole('button', { name: /Payer par carte/ }).click();
        // The acquirer's page.
        await page.getByText('Card acquirer simulator').waitFor();
        assert.equal(await page.locator('#amount').textContent(), '32.00 EUR');
        await page.getByLabel('Card number').fill('4000 0000 0000 0001');
        await page.getByRole('button', { name: 'Pay' }).click();
        await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
        await page.getByLabel('Card number').fill(TEST_CARDS.challenge);
        await page.getByRole('button', { name: 'Pay' }).click();
        await page.getByLabel('Code').fill(CHALLENGE_CODE);
        await page.getByRole('button', { name: 'Confirm' }).click();
        await page.locator('#outcome[data-status="authorised"]').waitFor();
        assert.ok(page.url().startsWith(server.url + '/api/v1/wallet/card-return'));
      });
      assert.equal(await euros(), before + 3200);
    });
  });
}
