// The holder's wallet in a real browser: the activation link (a weak password refused, then the
// account opened and the holder logged in), login by the wallet's own form, balances and the
// statement, a card reload through the acquirer simulator credited on its notification, the
// holder's message preferences, logout — and every screen free of serious accessibility faults.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends } from '../support/server.mjs';
import { startCardAcquirerSimulator, TEST_CARDS } from '../support/card-acquirer-simulator/simulator.mjs';
import { Client, demoPassword } from '../api/identity_client.mjs';
import { activationTokens, newHolder } from '../api/wallet_support.mjs';
import { mainHeading, seriousA11yViolations, useServerAndBrowser, withPage } from './browser.mjs';

const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
const goodPassword = 'Chartreuse-Belledonne-Isère-1968';

async function noSeriousA11yFaults(page, where) {
  assert.deepEqual(await seriousA11yViolations(page), [], `accessibility of ${where}`);
}

for (const backend of backends()) {
  describe(`holder wallet screens (${backend})`, () => {
    const env = { ...fastHashing, GUICHET_CARD_ACQUIRER_API_KEY: 'e2e-key', GUICHET_CARD_ACQUIRER_SECRET: 'e2e-secret' };
    let simulator;
    before(async () => {
      simulator = await startCardAcquirerSimulator({ apiKey: 'e2e-key', secret: 'e2e-secret' });
      env.GUICHET_CARD_ACQUIRER_URL = simulator.url;
    });
    after(async () => { await simulator?.stop(); });
    // Registered after the hook above, so the server starts with the simulator's address.
    const suite = useServerAndBrowser(backend, { demo: true, env });

    test('the activation link sets a password, logs in and shows the empty wallet', async () => {
      const manager = await new Client(suite.server).loginFully('manager@demo.guichet.fr', new Map());
      const orgs = (await manager.call('GET', '/api/v1/organisations')).body.organisations;
      const grenoble = orgs.find((o) => o.name === 'Crous Grenoble Alpes');
      const body = newHolder(grenoble.id, { first_name: 'Jeanne' });
      const created = await manager.call('POST', '/api/v1/wallet/holders', body);
      assert.equal(created.status, 201, created.text);
      const [token] = activationTokens(suite.server, body.email);

      // The weak password and the used link are refused on purpose: the browser logs 422 and 404.
      await withPage(suite.browser, { allowConsole: [/status of 422/, /status of 404/] }, async (page) => {
        await page.goto(`${suite.server.url}/wallet/activate#token=${encodeURIComponent(token)}`);
        await mainHeading(page, 'Activer mon porte-monnaie').waitFor();
        await noSeriousA11yFaults(page, 'the activation page');
        await page.getByLabel('Nouveau mot de passe', { exact: true }).fill('jeanne2004');
        await page.getByLabel('Confirmation du nouveau mot de passe', { exact: true }).fill('jeanne2004');
        await page.getByRole('button', { name: 'Activer mon porte-monnaie' }).click();
        await page.locator('.error-summary').waitFor();
        await page.getByLabel('Nouveau mot de passe', { exact: true }).fill(goodPassword);
        await page.getByLabel('Confirmation du nouveau mot de passe', { exact: true }).fill(goodPassword);
        await page.getByRole('button', { name: 'Activer mon porte-monnaie' }).click();
        await mainHeading(page, 'Porte-monnaie étudiant').waitFor();
        await page.getByText('Bonjour Jeanne.').waitFor();
        await page.locator('[data-counter="EUR"] .balance__amount').getByText(/^0,00\s€$/).waitFor();
        await page.getByText('Aucune opération pour l’instant.').waitFor();
        await noSeriousA11yFaults(page, 'the wallet');
        // The same link cannot be used twice.
        await page.goto(`${suite.server.url}/wallet/activate#token=${encodeURIComponent(token)}`);
        await page.getByLabel('Nouveau mot de passe', { exact: true }).fill(goodPassword);
        await page.getByLabel('Confirmation du nouveau mot de passe', { exact: true }).fill(goodPassword);
        await page.getByRole('button', { name: 'Activer mon porte-monnaie' }).click();
        await page.getByRole('heading', { name: 'Ce lien d’activation ne fonctionne pas' }).waitFor();
      });
    });

    test('a holder logs in, reads balances and statement, reloads by card, sets preferences, logs out', async () => {
      // The wrong password is refused on purpose: the browser logs its 401.
      await withPage(suite.browser, { allowConsole: [/status of 401/] }, async (page) => {
        await page.goto(`${suite.server.url}/wallet`);
        await mainHeading(page, 'Porte-monnaie étudiant').waitFor();
        await noSeriousA11yFaults(page, 'the wallet login');
        await page.getByLabel('Adresse e-mail').fill('camille.martin@etu.demo.guichet.fr');
        await page.getByLabel('Mot de passe', { exact: true }).fill('not-the-password');
        await page.getByRole('button', { name: 'Accéder à mon porte-monnaie' }).click();
        await page.locator('.error-summary').getByText('Adresse e-mail ou mot de passe incorrect.').waitFor();
        await page.getByLabel('Mot de passe', { exact: true }).fill(demoPassword);
        await page.getByRole('button', { name: 'Accéder à mon porte-monnaie' }).click();
        await page.getByText('Bonjour Camille.').waitFor();
        await page.locator('[data-counter="EUR"] .balance__amount').getByText(/^26,70\s€$/).waitFor();
        await page.locator('[data-counter="MEAL"] .balance__amount').getByText('9 repas').waitFor();

        // The statement survives a reload of the page (the session is read back).
        await page.getByRole('link', { name: 'Voir tout le relevé' }).click();
        await mainHeading(page, 'Mon relevé').waitFor();
        await page.reload();
        await mainHeading(page, 'Mon relevé').waitFor();
        await page.locator('table.statement tbody tr').first().waitFor();
        await noSeriousA11yFaults(page, 'the statement');

        // A card reload through the acquirer's page, credited by its notification.
        await page.getByRole('link', { name: 'Retour à mon porte-monnaie' }).click();
        await page.getByRole('link', { name: 'Recharger par carte bancaire' }).click();
        await mainHeading(page, 'Recharger par carte bancaire').waitFor();
        await noSeriousA11yFaults(page, 'the reload page');
        await page.getByLabel('Montant en euros').fill('trente');
        await page.getByRole('button', { name: 'Payer par carte' }).click();
        await page.locator('.error-summary').getByText(/Saisissez un montant en euros/).waitFor();
        await page.getByLabel('Montant en euros').fill('40');
        await page.getByRole('button', { name: 'Payer par carte' }).click();
        await page.getByText('Card acquirer simulator').waitFor();
        await page.getByLabel('Card number').fill(TEST_CARDS.accept);
        await page.getByRole('button', { name: 'Pay' }).click();
        await page.locator('#outcome[data-status="authorised"]').waitFor();
        await page.getByRole('link', { name: /Mon porte-monnaie/ }).click();
        await page.locator('[data-counter="EUR"] .balance__amount').getByText(/^66,70\s€$/).waitFor();

        // The holder's own message preferences.
        await page.getByRole('link', { name: 'Mes préférences de messages' }).click();
        await mainHeading(page, 'Mes préférences de messages').waitFor();
        await page.getByLabel('Un récapitulatif par jour').check();
        await page.getByRole('button', { name: 'Enregistrer mes préférences' }).click();
        await page.getByRole('status').getByText('Vos préférences sont enregistrées.').waitFor();
        await page.reload();
        await page.getByLabel('Un récapitulatif par jour').and(page.locator(':checked')).waitFor();
        await noSeriousA11yFaults(page, 'the preferences');

        await page.getByRole('link', { name: 'Retour à mon porte-monnaie' }).click();
        await page.getByRole('button', { name: 'Me déconnecter du porte-monnaie' }).click();
        await page.getByRole('button', { name: 'Accéder à mon porte-monnaie' }).waitFor();
        await page.reload();
        await page.getByRole('button', { name: 'Accéder à mon porte-monnaie' }).waitFor();
      });
    });
  });
}
