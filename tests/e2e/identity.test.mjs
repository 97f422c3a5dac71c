// The identity screens as people use them: logging in with a password and an authenticator
// app, the forced change of a temporary password, wrong passwords, being sent to the login
// page and back, and managing staff accounts with their history.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backends } from '../support/server.mjs';
import { mainHeading, useServerAndBrowser, withPage } from './browser.mjs';
import {
  demo, demoPassword, identityServer, logIn, logOutThroughMenu, submitLogin, totp,
  userMenuButton, waitForFocus, words,
} from './identity_support.mjs';

const fr = words.fr;

/** The pathname of the page now shown. */
const pathOf = (page) => new URL(page.url()).pathname;

async function waitForPath(page, path) {
  await page.waitForURL((url) => url.pathname === path);
}

/** Picks an organisation in a tree-indented <select> by its name. */
async function chooseOrganisation(select, name) {
  const value = await select.locator('option', { hasText: name }).first().getAttribute('value');
  await select.selectOption(value);
}

for (const backend of backends()) {
  describe(`identity screens (${backend})`, () => {
    const suite = useServerAndBrowser(backend, identityServer);

    test('a wallet manager sets up an authenticator app, then logs in with password and code',
      async () => {
        await withPage(suite.browser, { locale: 'fr-FR' }, async (page) => {
          await logIn(page, suite.server.url, demo('manager'));

          // Strong profiles grant nothing before the set-up: the login leads straight to it.
          await mainHeading(page, fr.enrolTitle).waitFor();
          assert.equal(pathOf(page), '/account/second-factor');
          const qr = page.getByRole('img', { name: /QR code/ });
          await qr.waitFor();
          assert.match(await qr.getAttribute('src'), /^data:image\/svg\+xml;base64,/);
          const secret = (await page.getByTestId('totp-secret').textContent()).trim();
          assert.match(secret, /^[A-Z2-7 ]{16,}$/);

          await page.getByLabel(fr.code, { exact: true }).fill(totp(secret));
          await page.getByRole('button', { name: 'Activer' }).click();
          const codesTitle = page.getByRole('heading', { name: 'Vos codes de secours' });
          await waitForFocus(codesTitle);
          const codes = (await page.getByTestId('recovery-codes').locator('li').allTextContents())
            .map((code) => code.trim());
          assert.equal(codes.length, 10);
          for (const code of codes) assert.match(code, /^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/);
          await page.getByText('Ils ne seront plus jamais affichés').waitFor();

          // Continuing without confirming the codes are kept is refused with a reason.
          await page.getByRole('button', { name: 'Continuer' }).click();
          await page.getByRole('alert').getByText('Cochez la case').waitFor();
          await page.getByLabel('J’ai conservé mes codes de secours en lieu sûr').check();
          await page.getByRole('button', { name: 'Continuer' }).click();
          await mainHeading(page, fr.account).waitFor();
          await page.getByText('La vérification en deux étapes est activée').waitFor();
          assert.match(await page.getByTestId('second-factor-status').textContent(), /^Activée/);

          await logOutThroughMenu(page, 'Maëlle Gestion');
          await page.getByRole('status').getByText('Vous êtes déconnecté.').waitFor();

          // Password, then the code of the next 30-second step (the server refuses a step
          // already used, and the set-up used the current one).
          await submitLogin(page, demo('manager'));
          await mainHeading(page, fr.secondTitle).waitFor();
          await page.getByLabel(fr.code, { exact: true }).fill(totp(secret, 1));
          await page.getByRole('button', { name: fr.validate }).click();
          await mainHeading(page, fr.home).waitFor();
          assert.equal(pathOf(page), '/');
          await userMenuButton(page, 'Maëlle Gestion').waitFor();

          // A recovery code works once, instead of the app.
          await logOutThroughMenu(page, 'Maëlle Gestion');
          await submitLogin(page, demo('manager'));
          await mainHeading(page, fr.secondTitle).waitFor();
          await page.getByRole('button', { name: fr.useRecovery }).click();
          const recovery = page.getByLabel(fr.recovery, { exact: true });
          await waitForFocus(recovery);
          await recovery.fill(codes[0]);
          await page.getByRole('button', { name: fr.validate }).click();
          await mainHeading(page, fr.home).waitFor();
          await userMenuButton(page, 'Maëlle Gestion').waitFor();
        });
      });

    test('a wrong password or code is refused with a message, and the form keeps the focus',
      async () => {
        const provoked = [/status of 401/];
        await withPage(suite.browser, { locale: 'fr-FR', allowConsole: provoked }, async (page) => {
          await logIn(page, suite.server.url, demo('tourism'), { password: 'pas le bon mot de passe' });
          const alert = page.getByRole('alert');
          await alert.getByText('L’adresse e-mail ou le mot de passe est incorrect.').waitFor();
          await waitForFocus(page.locator('.error-summary'));
          assert.equal(pathOf(page), '/login');
          assert.equal(await page.getByLabel(fr.password, { exact: true }).inputValue(), '');

          // Missing fields are named next to the fields and linked from the summary.
          await page.getByLabel(fr.email, { exact: true }).fill('');
          await page.getByRole('main').getByRole('button', { name: fr.submit }).click();
          await alert.getByRole('link', { name: 'Saisissez votre adresse e-mail.' }).click();
          await waitForFocus(page.getByLabel(fr.email, { exact: true }));
          assert.equal(await page.getByLabel(fr.email, { exact: true })
            .getAttribute('aria-invalid'), 'true');
        });
      });

    test('a protected page sends to the login page, then back to it', async () => {
      await withPage(suite.browser, { locale: 'fr-FR', allowConsole: [/status of 401/] },
        async (page) => {
          await page.goto(suite.server.url + '/staff?organisation=9');
          await mainHeading(page, fr.login).waitFor();
          assert.equal(new URL(page.url()).searchParams.get('next'), '/staff?organisation=9');
          await submitLogin(page, demo('city.agent'));
          await mainHeading(page, 'Personnel').waitFor();
          assert.equal(new URL(page.url()).search, '?organisation=9');
          const link = page.getByRole('link', { name: 'Rachid Régie' });
          await link.waitFor();

          // The session ends behind the page's back: the next call answers 401, and the
          // person is asked to log in again, then brought back.
          await page.context().clearCookies();
          await link.click();
          await mainHeading(page, fr.login).waitFor();
          assert.equal(new URL(page.url()).searchParams.get('next'), '/staff/10');
          await page.getByRole('status').getByText('Votre session a pris fin').waitFor();
          await submitLogin(page, demo('city.agent'));
          await mainHeading(page, 'Rachid Régie').waitFor();
        });
    });

    test('the menu offers Staff only to those who may read staff accounts', async () => {
      await withPage(suite.browser, { locale: 'fr-FR' }, async (page) => {
        const nav = page.getByRole('navigation', { name: 'Navigation principale' });
        await logIn(page, suite.server.url, demo('regisseur'));
        await mainHeading(page, fr.home).waitFor();
        await userMenuButton(page, 'Rachid Régie').waitFor();
        await nav.getByRole('link', { name: 'Accueil' }).waitFor();
        assert.equal(await nav.getByRole('link', { name: fr.staff }).count(), 0);
        await page.goto(suite.server.url + '/staff');
        await mainHeading(page, 'Accès refusé').waitFor();
        await logOutThroughMenu(page, 'Rachid Régie');

        await submitLogin(page, demo('city.agent'));
        await nav.getByRole('link', { name: fr.staff }).click();
        await mainHeading(page, 'Personnel').waitFor();
        // Reading is not managing.
        assert.equal(await page.getByRole('link', { name: 'Créer un compte' }).count(), 0);
      });
    });

    test('an account created with a temporary password must change it at first login',
      async () => {
        const email = demo(`first.login.${backend}`);
        const provoked = [/status of 422/];
        await withPage(suite.browser, { locale: 'fr-FR', allowConsole: provoked }, async (page) => {
          await logIn(page, suite.server.url, demo('syndicate.admin'));
          await page.getByRole('navigation').getByRole('link', { name: fr.staff }).click();
          await page.getByRole('link', { name: 'Créer un compte' }).click();
          await mainHeading(page, 'Créer un compte').waitFor();
          await page.getByLabel('Nom', { exact: true }).fill('Camille Provisoire');
          await page.getByLabel(fr.email, { exact: true }).fill(email);
          await chooseOrganisation(page.getByLabel('Organisation'), 'Ville de Vénissieux');
          // Only the profiles possible in a city are offered.
          const profiles = page.getByRole('group', { name: 'Profils' });
          assert.equal(await profiles.getByLabel(/Agent d'établissement/).count(), 0);
          await profiles.getByLabel(/^Agent de la ville/).check();
          await page.getByLabel(/^Définir un mot de passe provisoire/).check();
          await page.getByLabel('Mot de passe provisoire', { exact: true })
            .fill('Tilleul-Orage-Basalte-93');
          await page.getByRole('button', { name: 'Créer le compte' }).click();
          await mainHeading(page, 'Camille Provisoire').waitFor();
          await page.getByRole('status').getByText('Le compte de Camille Provisoire est créé').waitFor();
          await logOutThroughMenu(page, 'Sylvie Syndicat');

          await submitLogin(page, email, { password: 'Tilleul-Orage-Basalte-93' });
          await mainHeading(page, 'Changer de mot de passe').waitFor();
          assert.equal(pathOf(page), '/change-password');
          await page.getByText('mot de passe provisoire').first().waitFor();
          // Nothing else opens before the change.
          await page.goto(suite.server.url + '/account');
          await mainHeading(page, 'Changer de mot de passe').waitFor();
          assert.equal(new URL(page.url()).searchParams.get('next'), '/account');

          await page.getByLabel('Mot de passe actuel', { exact: true })
            .fill('Tilleul-Orage-Basalte-93');
          await page.getByLabel('Nouveau mot de passe', { exact: true }).fill('courtcourt');
          await page.getByLabel('Confirmation du nouveau mot de passe', { exact: true })
            .fill('courtcourt');
          await page.getByRole('button', { name: 'Changer le mot de passe' }).click();
          const weak = 'Ce mot de passe est trop court : utilisez au moins 12 caractères.';
          await page.getByRole('alert').getByText(weak).waitFor();
          const field = page.getByLabel('Nouveau mot de passe', { exact: true });
          assert.equal(await field.getAttribute('aria-invalid'), 'true');
          const describedBy = await field.getAttribute('aria-describedby');
          const description = await page.evaluate((ids) => ids.split(' ')
            .map((id) => document.getElementById(id)?.textContent ?? '').join(' '), describedBy);
          assert.ok(description.includes(weak), `the message is tied to the field: ${description}`);
          assert.ok(description.includes('au moins 12 caractères'), 'the rules too');

          await page.getByLabel('Mot de passe actuel', { exact: true })
            .fill('Tilleul-Orage-Basalte-93');
          await page.getByLabel('Nouveau mot de passe', { exact: true })
            .fill('Falaise-Ortie-Cobalt-58');
          await page.getByLabel('Confirmation du nouveau mot de passe', { exact: true })
            .fill('Falaise-Ortie-Cobalt-58');
          await page.getByRole('button', { name: 'Changer le mot de passe' }).click();
          // Back to the page asked for before the detour.
          await mainHeading(page, fr.account).waitFor();
          await page.getByRole('status').getByText('Votre mot de passe a été changé.').waitFor();
        });
      });

    test('a syndicate administrator creates a city agent, suspends it and reads its history',
      async () => {
        const email = demo(`city.newcomer.${backend}`);
        await withPage(suite.browser, { locale: 'fr-FR' }, async (page) => {
          await logIn(page, suite.server.url, demo('syndicate.admin'));
          await page.getByRole('navigation').getByRole('link', { name: fr.staff }).click();
          await mainHeading(page, 'Personnel').waitFor();
          await page.getByRole('link', { name: 'Créer un compte' }).click();
          await page.getByLabel('Nom', { exact: true }).fill('Chloé Nouvelle');
          await page.getByLabel(fr.email, { exact: true }).fill(email);
          await chooseOrganisation(page.getByLabel('Organisation'), 'Ville de Vénissieux');
          await page.getByRole('group', { name: 'Profils' }).getByLabel(/^Agent de la ville/).check();
          await page.getByRole('button', { name: 'Créer le compte' }).click();
          await mainHeading(page, 'Chloé Nouvelle').waitFor();
          await page.getByText('une invitation lui est envoyée').waitFor();

          await page.getByRole('link', { name: 'Retour à la liste du personnel' }).click();
          await mainHeading(page, 'Personnel').waitFor();
          const row = page.getByRole('row').filter({ hasText: 'Chloé Nouvelle' });
          await row.waitFor();
          assert.match(await row.textContent(), new RegExp(email.replace(/\./g, '\\.')));
          assert.match(await row.textContent(), /Agent de la villeà Ville de Vénissieux/);
          assert.match(await row.textContent(), /Actif/);

          // The filter keeps one organisation's staff.
          await chooseOrganisation(page.getByLabel('Organisation'), 'École Parilly');
          await page.getByRole('button', { name: 'Afficher' }).click();
          await page.getByRole('status').getByText('Comptes affichés pour École Parilly : 1').waitFor();
          assert.equal(await page.getByRole('row').filter({ hasText: 'Chloé Nouvelle' }).count(), 0);
          await page.getByLabel('Organisation').selectOption('');
          await page.getByRole('button', { name: 'Afficher' }).click();

          await page.getByRole('link', { name: 'Chloé Nouvelle' }).click();
          await mainHeading(page, 'Chloé Nouvelle').waitFor();
          await page.getByRole('button', { name: 'Suspendre le compte' }).click();
          await page.getByRole('status')
            .getByText('Le compte de Chloé Nouvelle est suspendu').waitFor();
          assert.equal(await page.getByTestId('staff-status').textContent(), 'Suspendu');
          await page.getByRole('button', { name: 'Réactiver le compte' }).waitFor();

          const timeline = page.getByTestId('audit-timeline');
          const changed = timeline.locator('li').filter({
            has: page.getByRole('heading', { name: 'Compte modifié' }),
          });
          await changed.waitFor();
          assert.match(await changed.textContent(), /Sylvie Syndicat \(compte n° 8\)/);
          const statusRow = changed.getByRole('row', { name: /Statut/ });
          assert.deepEqual(
            (await statusRow.locator('th, td').allTextContents()).map((text) => text.trim()),
            ['Statut', 'Actif', 'Suspendu']);
          const created = timeline.locator('li').filter({
            has: page.getByRole('heading', { name: 'Compte créé' }),
          });
          assert.match(await created.textContent(), /Chloé Nouvelle/);
          const headings = await timeline.getByRole('heading').allTextContents();
          assert.deepEqual(headings, ['Compte modifié', 'Compte créé'], 'newest first');
        });
      });

    test('profiles are added and removed, and an account is deleted after confirmation',
      async () => {
        await withPage(suite.browser, { locale: 'en-GB' }, async (page) => {
          await logIn(page, suite.server.url, demo('syndicate.admin'), { lang: 'en' });
          await mainHeading(page, words.en.home).waitFor();
          await page.goto(suite.server.url + '/staff');
          await page.getByRole('link', { name: 'Élise École' }).click();
          await mainHeading(page, 'Élise École').waitFor();

          await chooseOrganisation(page.getByLabel('Organisation', { exact: true }),
            'Ville de Vénissieux');
          const profileSelect = page.getByLabel('Profile', { exact: true });
          const value = await profileSelect.locator('option', { hasText: 'Cashier' })
            .getAttribute('value');
          await profileSelect.selectOption(value);
          await page.getByRole('button', { name: 'Add the profile' }).click();
          await page.getByRole('status')
            .getByText('Profile Cashier (régisseur) added at Ville de Vénissieux.').waitFor();
          await page.getByRole('button',
            { name: 'Remove the profile Establishment agent at École Parilly' }).click();
          await page.getByRole('status')
            .getByText('Profile Establishment agent removed at École Parilly.').waitFor();
          const history = page.getByTestId('audit-timeline');
          await history.getByRole('heading', { name: 'Profile removed' }).waitFor();
          await history.getByRole('heading', { name: 'Profile added' }).waitFor();

          await page.getByRole('button', { name: 'Delete the account' }).click();
          const dialog = page.getByRole('dialog', { name: 'Delete the account of Élise École?' });
          await dialog.waitFor();
          // The safe choice has the focus.
          await waitForFocus(dialog.getByRole('button', { name: 'Cancel' }));
          await page.keyboard.press('Escape');
          await dialog.waitFor({ state: 'hidden' });
          await page.getByRole('button', { name: 'Delete the account' }).click();
          await dialog.getByRole('button', { name: 'Delete for good' }).click();
          await mainHeading(page, 'Staff').waitFor();
          await page.getByRole('status').getByText('The account of Élise École is deleted.').waitFor();
          await page.getByRole('row').filter({ hasText: 'Rachid Régie' }).waitFor();
          assert.equal(await page.getByRole('row').filter({ hasText: 'Élise École' }).count(), 0);
        });
      });

    test('forgotten password: the same answer for every address; a bad link says so',
      async () => {
        await withPage(suite.browser, { locale: 'fr-FR', allowConsole: [/status of 404/] },
          async (page) => {
            await page.goto(suite.server.url + '/login');
            await page.getByRole('link', { name: 'Mot de passe oublié ?' }).click();
            await mainHeading(page, 'Mot de passe oublié').waitFor();
            await page.getByLabel(fr.email, { exact: true }).fill('personne@demo.guichet.fr');
            await page.getByRole('button', { name: 'Recevoir le lien' }).click();
            const sent = page.getByRole('status').filter({ hasText: 'Demande envoyée' });
            await sent.getByText('Si un compte existe pour personne@demo.guichet.fr').waitFor();

            await page.goto(suite.server.url + '/reset-password?token=not-a-real-token');
            await mainHeading(page, 'Choisir un nouveau mot de passe').waitFor();
            await page.getByLabel('Nouveau mot de passe', { exact: true }).fill(demoPassword + 'x');
            await page.getByLabel('Confirmation du nouveau mot de passe', { exact: true })
              .fill(demoPassword + 'x');
            await page.getByRole('button', { name: 'Enregistrer le mot de passe' }).click();
            await page.getByRole('alert').getByText('Ce lien n’est plus valable').waitFor();
            await page.getByRole('link', { name: 'Demander un nouveau lien' }).waitFor();
          });
      });
  });
}
