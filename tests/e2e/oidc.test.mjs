// Logging in through the OpenID Connect provider as a person does it in Chromium: the button on
// Guichet's login page, the provider's own login form (LemonLDAP::NG, started locally by
// tests/support/oidc/start-provider), and back in Guichet, logged in, on the page asked for.
// Skipped, saying so, only when the provider's packages are missing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends } from '../support/server.mjs';
import { freePort, providerSkipReason, startProvider } from '../support/oidc/provider.mjs';
import { mainHeading, seriousA11yViolations, useServerAndBrowser, withPage } from './browser.mjs';
import { ApiClient, demo, demoPassword, identityServer, userMenuButton, words } from './identity_support.mjs';

const skip = providerSkipReason();
if (skip) console.log(`# oidc screens: skipped: ${skip}`);

/** At the provider's portal: its login form, then the redirect back to Guichet. */
async function signInAtProvider(page, user, password = user) {
  await page.locator('#userfield').waitFor();
  await page.fill('#userfield', user);
  await page.fill('#passwordfield', password);
  await page.click('#lform button[type=submit]');
}

for (const backend of backends()) {
  describe(`OpenID Connect login screens (${backend})`, { skip }, () => {
    let provider;
    // Filled in before the server starts: its callback URL must be known to the provider.
    const serverOptions = { ...identityServer, env: { ...identityServer.env } };
    before(async () => {
      const port = await freePort();
      const redirectUri = `http://127.0.0.1:${port}/api/v1/oidc/callback`;
      provider = startProvider([redirectUri]);
      Object.assign(serverOptions.env, { GUICHET_HTTP_PORT: String(port),
        ...provider.guichetEnv(redirectUri) });
    });
    const suite = useServerAndBrowser(backend, serverOptions);
    before(async () => {
      const admin = new ApiClient(suite.server.url);
      assert.equal((await admin.call('POST', '/api/v1/session',
        { email: demo('syndicate.admin'), password: demoPassword })).status, 200);
      const { organisations } = (await admin.call('GET', '/api/v1/organisations')).body;
      const city = organisations.find((org) => org.name === 'Ville de Vénissieux');
      const created = await admin.call('POST', '/api/v1/staff', { email: provider.env.OIDC_EMAIL,
        display_name: 'Doctor Who', organisation_id: city.id, profiles: ['family.city_agent'] });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    });
    after(() => provider?.stop());

    test('the button leads to the provider, and back to Guichet logged in', async () => {
      await withPage(suite.browser, { locale: 'fr-FR' }, async (page) => {
        await page.goto(suite.server.url + '/login');
        await mainHeading(page, words.fr.login).waitFor();
        await page.getByRole('link', { name: 'Se connecter avec LemonLDAP::NG', exact: true }).click();
        await page.waitForURL((url) => url.origin === provider.env.OIDC_ISSUER);
        await signInAtProvider(page, 'dwho');
        await mainHeading(page, words.fr.home).waitFor();
        assert.equal(new URL(page.url()).pathname, '/');
        await userMenuButton(page, 'Doctor Who').waitFor();
      });
    });

    test('a protected page asked for first is where the login ends', async () => {
      await withPage(suite.browser, { locale: 'en-GB' }, async (page) => {
        await page.goto(suite.server.url + '/staff');
        await mainHeading(page, words.en.login).waitFor();
        await page.getByRole('link', { name: 'Log in with LemonLDAP::NG', exact: true }).click();
        await signInAtProvider(page, 'dwho');
        await mainHeading(page, words.en.staff).waitFor();
        assert.equal(new URL(page.url()).pathname, '/staff');
      });
    });

    test('an identity without a staff account is told so on the login page', async () => {
      await withPage(suite.browser, { locale: 'fr-FR' }, async (page) => {
        await page.goto(suite.server.url + '/login');
        await page.getByRole('link', { name: 'Se connecter avec LemonLDAP::NG', exact: true }).click();
        await signInAtProvider(page, 'rtyler');
        const alert = page.getByRole('alert');
        await alert.getByText('Aucun compte agent actif ne correspond à cette identité', { exact: false })
          .waitFor();
        await alert.getByText('Code de l’erreur : no_account').waitFor();
        await mainHeading(page, words.fr.login).waitFor();
        assert.equal(new URL(page.url()).pathname, '/login');
        // The notice and the provider's button next to the password form.
        await page.getByRole('link', { name: 'Se connecter avec LemonLDAP::NG' }).waitFor();
        assert.deepEqual(await seriousA11yViolations(page), []);
      });
    });
  });
}
