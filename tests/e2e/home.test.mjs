// What a visitor sees on the home page: both languages, the live status panel, and routing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backends } from '../support/server.mjs';
import {
  mainHeading, useServerAndBrowser, waitForLang, waitForStatusPanel, withPage,
} from './browser.mjs';

for (const backend of backends()) {
  describe(`home page (${backend})`, () => {
    const suite = useServerAndBrowser(backend);

    test('speaks French, switches to English, and keeps the choice after a reload', async () => {
      await withPage(suite.browser, { locale: 'fr-FR' }, async (page) => {
        const response = await page.goto(suite.server.url + '/');
        // Without the production policy, "no CSP violation" below would prove nothing.
        assert.match(response.headers()['content-security-policy'] ?? '', /script-src 'self'/);
        await mainHeading(page, 'Bienvenue sur Guichet').waitFor();
        await waitForLang(page, 'fr');
        for (const name of ['Porte-monnaie étudiant', 'Pass touristique', 'Portail famille']) {
          await page.getByRole('heading', { level: 3, name }).waitFor();
        }

        await page.getByRole('button', { name: 'English' }).click();
        await mainHeading(page, 'Welcome to Guichet').waitFor();
        await waitForLang(page, 'en');
        assert.equal(
          await page.getByRole('button', { name: 'English' }).getAttribute('aria-pressed'), 'true');
        for (const name of ['Student wallet', 'Tourist pass', 'Family portal']) {
          await page.getByRole('heading', { level: 3, name }).waitFor();
        }

        await page.reload();
        await mainHeading(page, 'Welcome to Guichet').waitFor();
        await waitForLang(page, 'en');

        await page.getByRole('button', { name: 'Français' }).click();
        await mainHeading(page, 'Bienvenue sur Guichet').waitFor();
        await waitForLang(page, 'fr');
      });
    });

    test('starts in the browser language: English for en-US, French otherwise', async () => {
      for (const [locale, lang, title] of [
        ['en-US', 'en', 'Welcome to Guichet'],
        ['de-DE', 'fr', 'Bienvenue sur Guichet'],
      ]) {
        await withPage(suite.browser, { locale }, async (page) => {
          await page.goto(suite.server.url + '/');
          await mainHeading(page, title).waitFor();
          await waitForLang(page, lang);
        });
      }
    });

    test('the status panel shows what the server reports', async () => {
      const response = await fetch(suite.server.url + '/api/v1/system/status');
      assert.equal(response.status, 200);
      const status = await response.json();
      assert.equal(status.backend, backend);

      await withPage(suite.browser, { locale: 'en-GB' }, async (page) => {
        await page.goto(suite.server.url + '/');
        await waitForStatusPanel(page);
        const shownBackend = await page.getByTestId('status-backend').textContent();
        // The panel names the engine ("SQLite", "PostgreSQL"); the API uses its short id.
        assert.ok(shownBackend.toLowerCase().startsWith(backend), `shown: ${shownBackend}`);
        const panel = await page.locator('.status-panel').textContent();
        assert.ok(panel.includes(status.version), `version ${status.version} missing: ${panel}`);
      });
    });

    test('the status panel explains a failed call and recovers on refresh', async () => {
      const provoked = [/status of 503/, /net::ERR_FAILED/];
      await withPage(suite.browser, { locale: 'fr-FR', allowConsole: provoked }, async (page) => {
        await page.route('**/api/v1/system/status', (route) => route.fulfill({
          status: 503,
          contentType: 'application/problem+json',
          body: JSON.stringify({
            type: 'about:blank', title: 'Service Unavailable', status: 503,
            detail: 'The database is starting.',
          }),
        }));
        await page.goto(suite.server.url + '/status');
        const alert = page.getByRole('alert');
        await alert.waitFor();
        const problemText = await alert.textContent();
        assert.match(problemText, /L’état du service est indisponible/);
        assert.match(problemText, /Service Unavailable — The database is starting\./);

        await page.unroute('**/api/v1/system/status');
        await page.route('**/api/v1/system/status', (route) => route.abort('failed'));
        await page.getByRole('button', { name: 'Actualiser' }).click();
        await alert.getByText(/Le serveur ne répond pas/).waitFor();

        await page.unroute('**/api/v1/system/status');
        await page.getByRole('button', { name: 'Actualiser' }).click();
        await page.getByTestId('status-backend').waitFor();
        assert.equal(await alert.count(), 0);
      });
    });

    test('an unknown address shows the not-found page, and links navigate in place', async () => {
      await withPage(suite.browser, { locale: 'fr-FR' }, async (page) => {
        await page.goto(suite.server.url + '/no/such/page');
        await mainHeading(page, 'Page introuvable').waitFor();
        assert.match(await page.locator('main').textContent(), /\/no\/such\/page/);
        assert.equal(await page.title(), 'Page introuvable — Guichet');

        // A marker on window survives only if navigation stays inside the loaded app.
        await page.evaluate(() => { window.stillSamePage = true; });
        await page.getByRole('link', { name: "Retour à l'accueil" }).click();
        await mainHeading(page, 'Bienvenue sur Guichet').waitFor();
        assert.equal(new URL(page.url()).pathname, '/');

        const nav = page.getByRole('navigation', { name: 'Navigation principale' });
        await nav.getByRole('link', { name: 'Pass touristique' }).click();
        await mainHeading(page, 'Pass touristique').waitFor();
        assert.equal(new URL(page.url()).pathname, '/pass');
        assert.equal(
          await nav.getByRole('link', { name: 'Pass touristique' }).getAttribute('aria-current'),
          'page');

        await page.goBack();
        await mainHeading(page, 'Bienvenue sur Guichet').waitFor();
        assert.equal(await page.evaluate(() => window.stillSamePage), true);
      });
    });
  });
}
