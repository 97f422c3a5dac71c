// The identity screens in both languages, in their ordinary and error states: no serious or
// critical axe-core finding, and nothing wider than a small phone (WCAG 1.4.10 reflow).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { backends } from '../support/server.mjs';
import {
  browserLocales, mainHeading, phone, scrollsHorizontally, seriousA11yViolations,
  useServerAndBrowser, waitForLang, withPage,
} from './browser.mjs';
import {
  ApiClient, demo, identityServer, logIn, logOutThroughMenu, submitLogin, totp, words,
} from './identity_support.mjs';

// Headings and buttons of the screens visited, per language.
const text = {
  fr: {
    forgot: 'Mot de passe oublié', reset: 'Choisir un nouveau mot de passe',
    resetSubmit: 'Enregistrer le mot de passe', codesTitle: 'Vos codes de secours',
    activate: 'Activer', cancelSecond: 'Annuler et se connecter avec un autre compte',
    changePassword: 'Changer de mot de passe', changeSubmit: 'Changer le mot de passe',
    newAccount: 'Créer un compte', createSubmit: 'Créer le compte',
    deleteAccount: 'Supprimer le compte', cancel: 'Annuler', history: 'Historique',
  },
  en: {
    forgot: 'Forgotten password', reset: 'Choose a new password',
    resetSubmit: 'Save the password', codesTitle: 'Your recovery codes',
    activate: 'Turn on', cancelSecond: 'Cancel and log in with another account',
    changePassword: 'Change password', changeSubmit: 'Change password',
    newAccount: 'Create an account', createSubmit: 'Create the account',
    deleteAccount: 'Delete the account', cancel: 'Cancel', history: 'History',
  },
};

/**
 * Walks through every identity screen in `lang`, calling `onScreen(name)` once each is fully
 * shown. `enrolEmail`, when given, is an account whose authenticator set-up is completed, so
 * that the recovery codes screen is seen too.
 */
async function visitIdentityScreens(page, baseUrl, lang, onScreen, { enrolEmail } = {}) {
  const w = words[lang]; const x = text[lang];
  const main = page.getByRole('main');

  await page.goto(baseUrl + '/login');
  await mainHeading(page, w.login).waitFor();
  await waitForLang(page, lang);
  await onScreen('login');
  await main.getByRole('button', { name: w.submit, exact: true }).click();
  await page.locator('.error-summary').waitFor();
  await onScreen('login with errors');

  await page.goto(baseUrl + '/forgot-password');
  await mainHeading(page, x.forgot).waitFor();
  await onScreen('forgotten password');
  await page.goto(baseUrl + '/reset-password?token=abc');
  await mainHeading(page, x.reset).waitFor();
  await main.getByRole('button', { name: x.resetSubmit }).click();
  await page.locator('.error-summary').waitFor();
  await onScreen('reset password with errors');

  // The second factor of an account that has an authenticator app.
  await page.goto(baseUrl + '/login');
  await submitLogin(page, demo('national.admin'), { lang });
  await mainHeading(page, w.secondTitle).waitFor();
  await onScreen('second factor');
  await main.getByRole('button', { name: w.useRecovery }).click();
  await page.getByLabel(w.recovery, { exact: true }).waitFor();
  await onScreen('second factor with a recovery code');
  await main.getByRole('button', { name: x.cancelSecond }).click();
  await mainHeading(page, w.login).waitFor();

  // The set-up of the authenticator app, forced for a strong profile.
  await submitLogin(page, demo('regional.admin'), { lang });
  await mainHeading(page, w.enrolTitle).waitFor();
  await page.getByTestId('totp-secret').waitFor();
  await onScreen('authenticator set-up');
  await logOutThroughMenu(page, 'Rémi Régional', lang);

  if (enrolEmail) {
    await submitLogin(page, enrolEmail, { lang });
    await mainHeading(page, w.home).waitFor();
    await page.goto(baseUrl + '/account/second-factor');
    await mainHeading(page, w.enrolTitle).waitFor();
    const secret = await page.getByTestId('totp-secret').textContent();
    await page.getByLabel(w.code, { exact: true }).fill(totp(secret));
    await main.getByRole('button', { name: x.activate }).click();
    await page.getByRole('heading', { name: x.codesTitle }).waitFor();
    await onScreen('recovery codes');
    await page.getByRole('banner').getByRole('button', { expanded: false }).first().click();
    await page.getByRole('banner').getByRole('button', { name: w.logout, exact: true }).click();
    await mainHeading(page, w.login).waitFor();
  }

  await submitLogin(page, demo('syndicate.admin'), { lang });
  await mainHeading(page, w.home).waitFor();
  await page.goto(baseUrl + '/account');
  await mainHeading(page, w.account).waitFor();
  await onScreen('account');
  await page.getByRole('banner').getByRole('button', { name: 'Sylvie Syndicat' }).click();
  await page.getByRole('banner').getByRole('link', { name: w.account }).waitFor();
  await onScreen('account with the user menu open');
  await page.keyboard.press('Escape');

  await page.goto(baseUrl + '/change-password');
  await mainHeading(page, x.changePassword).waitFor();
  await main.getByRole('button', { name: x.changeSubmit }).click();
  await page.locator('.error-summary').waitFor();
  await onScreen('password change with errors');

  await page.goto(baseUrl + '/staff');
  await mainHeading(page, w.staff).waitFor();
  await page.getByRole('row').filter({ hasText: 'Cédric Ville' }).waitFor();
  await onScreen('staff list');

  await page.goto(baseUrl + '/staff/new');
  await mainHeading(page, x.newAccount).waitFor();
  await main.getByRole('button', { name: x.createSubmit }).click();
  await page.locator('.error-summary').waitFor();
  await onScreen('staff creation with errors');

  await page.goto(baseUrl + '/staff');
  await page.getByRole('link', { name: 'Cédric Ville' }).click();
  await mainHeading(page, 'Cédric Ville').waitFor();
  await page.getByTestId('audit-timeline').waitFor();
  await onScreen('staff detail');
  await main.getByRole('button', { name: x.deleteAccount }).click();
  await page.getByRole('dialog').waitFor();
  await onScreen('staff deletion dialog');
  await page.getByRole('dialog').getByRole('button', { name: x.cancel }).click();
  await page.getByRole('dialog').waitFor({ state: 'hidden' });
}

for (const backend of backends()) {
  describe(`identity screens accessibility (${backend})`, () => {
    const suite = useServerAndBrowser(backend, identityServer);
    before(async () => {
      // An account with an authenticator app, for the second-factor screen.
      await new ApiClient(suite.server.url).enrol(demo('national.admin'));
    });

    // Each language completes the set-up of its own account once (it can be done only once).
    const enrolEmail = { fr: demo('merchant'), en: demo('partner') };

    for (const lang of ['fr', 'en']) {
      test(`axe finds no serious or critical violation on the identity screens in ${lang}`,
        async () => {
          await withPage(suite.browser, { locale: browserLocales[lang] }, async (page) => {
            const found = []; const seen = [];
            await visitIdentityScreens(page, suite.server.url, lang, async (screen) => {
              seen.push(screen);
              for (const violation of await seriousA11yViolations(page)) {
                found.push(`${screen}: ${violation}`);
              }
            }, { enrolEmail: enrolEmail[lang] });
            assert.deepEqual(found, []);
            assert.equal(seen.length, 15, `screens seen: ${seen.join(', ')}`);
          });
        });

      test(`the identity screens fit a 360px wide screen in ${lang}`, async () => {
        await withPage(suite.browser, { locale: browserLocales[lang], viewport: phone },
          async (page) => {
            const tooWide = [];
            await visitIdentityScreens(page, suite.server.url, lang, async (screen) => {
              if (await scrollsHorizontally(page)) tooWide.push(screen);
            });
            assert.deepEqual(tooWide, []);
          });
      });
    }
  });
}
