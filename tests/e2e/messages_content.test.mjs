// The content screens of messages as people use them, on notify-content's API: a template
// edited with its preview and put back; one's own preferences (frequency, low-balance
// threshold, consent); a campaign created, sent now over a real SMTP server (maildev) with its
// statistics; the unsubscribe page opened from the e-mail's link without logging in; the
// person's message history; axe on each screen in French and English.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends } from '../support/server.mjs';
import { freePort, startMaildev } from '../support/maildev.mjs';
import {
  browserLocales, mainHeading, seriousA11yViolations, useServerAndBrowser, waitForLang, withPage,
} from './browser.mjs';
import { demo, identityServer, logIn, words } from './identity_support.mjs';
import { pollUntil } from '../api/lib.mjs';

async function logInFully(page, baseUrl, email, lang = 'fr') {
  await logIn(page, baseUrl, email, { lang });
  await mainHeading(page, words[lang].home).waitFor();
}

const header = (source, name) => {
  const unfolded = source.split('\r\n\r\n')[0].replace(/\r\n[ \t]+/g, ' ');
  return new RegExp(`^${name}: (.*)$`, 'mi').exec(unfolded)?.[1];
};

const text = {
  fr: {
    templates: 'Modèles de messages', campaigns: 'Campagnes', prefs: 'Mes préférences de messages',
    history: 'Historique des messages d’une personne', unsubscribe: 'Désinscription', messages: 'Messages',
  },
  en: {
    templates: 'Message templates', campaigns: 'Campaigns', prefs: 'My message preferences',
    history: 'A person’s message history', unsubscribe: 'Unsubscribe', messages: 'Messages',
  },
};

for (const backend of backends()) {
  describe(`messages content screens (${backend})`, () => {
    let maildev;
    const options = { ...identityServer, env: { ...identityServer.env } };
    before(async () => {
      maildev = await startMaildev();
      const port = await freePort();
      Object.assign(options.env, {
        GUICHET_HTTP_PORT: String(port),
        GUICHET_PUBLIC_URL: `http://127.0.0.1:${port}`,
        GUICHET_NOTIFY_LINK_SECRET: 'link-secret-for-browser-tests',
        GUICHET_SMTP_URL: `smtp://127.0.0.1:${maildev.smtp}`,
        GUICHET_SMTP_USER: maildev.user,
        GUICHET_SMTP_PASSWORD: maildev.pass,
        GUICHET_SMTP_STARTTLS: 'required',
        GUICHET_SMTP_CA_FILE: maildev.ca,
        GUICHET_NOTIFY_POLL_MS: '1000',
        GUICHET_JOBS_POLL_MS: '50',
      });
    });
    // Registered after the hook above, so the server starts with maildev's ports.
    const suite = useServerAndBrowser(backend, options);
    after(async () => { await maildev?.stop(); });

    test('a template is edited with a preview, saved for the syndicate, then put back', async () => {
      // The unknown variable is refused on purpose (422).
      await withPage(suite.browser, { allowConsole: [/status of 422/] }, async (page) => {
        await logInFully(page, suite.server.url, demo('syndicate.admin'));
        await page.goto(suite.server.url + '/messages');
        await page.getByRole('main').getByRole('link', { name: text.fr.templates }).click();
        await mainHeading(page, text.fr.templates).waitFor();
        await page.getByRole('link', { name: 'wallet.low_balance (Français)' }).click();
        await mainHeading(page, 'Modèle wallet.low_balance (Français)').waitFor();
        await page.getByText('Origine : Modèle de base').waitFor();
        const subject = page.getByLabel('Objet', { exact: true });
        await subject.fill('Attention, solde bas : {{ balance_cents | money }}');
        await page.getByRole('button', { name: 'Aperçu' }).click();
        await page.getByTestId('preview-subject').getByText(/^Attention, solde bas : 3,50\s€$/).waitFor();

        await subject.fill('Solde de {{ inconnu }}');
        await page.getByRole('button', { name: 'Enregistrer le modèle' }).click();
        await page.locator('.error-summary').getByText(/inconnu/).waitFor();

        await subject.fill('Attention, solde bas : {{ balance_cents | money }}');
        await page.getByRole('button', { name: 'Enregistrer le modèle' }).click();
        await page.getByRole('status').getByText('Le modèle est enregistré pour cette organisation.').waitFor();
        await page.getByText('Origine : Propre à l’organisation').waitFor();
        await page.getByRole('button', { name: 'Revenir au modèle hérité' }).click();
        await page.getByText('Origine : Modèle de base').waitFor();
        await pollUntil(async () => (await subject.inputValue()) === 'Solde bas : {{ balance_cents | money }}' || undefined,
          { timeoutMs: 5000, what: 'the inherited subject back in the field' });
      });
    });

    test('one\'s preferences: frequency, threshold, consent to campaigns by e-mail', async () => {
      await withPage(suite.browser, {}, async (page) => {
        await logInFully(page, suite.server.url, demo('syndicate.admin'));
        await page.goto(suite.server.url + '/account');
        await page.getByRole('link', { name: text.fr.prefs }).click();
        await mainHeading(page, text.fr.prefs).waitFor();
        assert.equal(await page.getByLabel('Un récapitulatif par semaine').isChecked(), true);
        await page.getByLabel('Un récapitulatif par jour').check();
        const threshold = page.getByLabel(/Seuil d’alerte de solde bas/);
        await threshold.fill('cinq euros');
        await page.getByRole('button', { name: 'Enregistrer mes préférences' }).click();
        await page.locator('.error-summary').getByText('Saisissez un montant en euros').waitFor();
        await threshold.fill('5,00');
        await page.getByRole('button', { name: 'Enregistrer mes préférences' }).click();
        await page.getByRole('status').getByText('Vos préférences sont enregistrées.').waitFor();
        await page.getByLabel('Informations et campagnes par e-mail').check();
        await page.getByRole('status').getByText('Accepté : Informations et campagnes par e-mail.').waitFor();

        await page.reload();
        await mainHeading(page, text.fr.prefs).waitFor();
        await page.getByLabel('Un récapitulatif par jour').and(page.locator(':checked')).waitFor();
        assert.equal(await threshold.inputValue(), '5,00');
        assert.equal(await page.getByLabel('Informations et campagnes par e-mail').isChecked(), true);
        // Mandatory messages cannot be turned off.
        assert.equal(await page.getByLabel(/Messages de service par e-mail/).isDisabled(), true);
      });
    });

    test('a campaign is sent now, counted, unsubscribed from its e-mail link, and in the history', async () => {
      await withPage(suite.browser, {}, async (page) => {
        await logInFully(page, suite.server.url, demo('syndicate.admin'));
        await page.goto(suite.server.url + '/messages/campaigns');
        await mainHeading(page, text.fr.campaigns).waitFor();
        await page.getByRole('button', { name: 'Créer la campagne' }).click();
        assert.equal(await page.locator('.error-summary li').count(), 3);

        const select = page.getByLabel('Organisation qui envoie');
        await select.selectOption(await select.locator('option', { hasText: 'SITIV' }).first().getAttribute('value'));
        await page.getByLabel('Nom de la campagne').fill('Fermeture de Noël');
        await page.getByLabel('Modèle', { exact: true }).selectOption('notify.campaign');
        await page.getByLabel('Texte pour {{ title }} (facultatif)').fill('Fermeture exceptionnelle');
        await page.getByLabel('Texte pour {{ body }} (facultatif)').fill('Le guichet sera fermé le 24 décembre.');
        await page.getByLabel('Critère : profile (facultatif)').fill('family.syndicate_admin');
        await page.getByRole('button', { name: 'Créer la campagne' }).click();
        await page.getByRole('status').getByText('La campagne « Fermeture de Noël » est créée en brouillon.').waitFor();
        const row = page.getByRole('row').filter({ hasText: 'Fermeture de Noël' });
        await row.getByText('Brouillon').waitFor();
        await row.getByRole('button', { name: /^Envoyer maintenant/ }).click();
        await page.getByRole('status').getByText('part maintenant').waitFor();

        const mail = await (async () => {
          for (let i = 0; i < 200; i += 1) {
            const found = (await maildev.emails()).find((e) => e.subject === 'Fermeture exceptionnelle');
            if (found) return found;
            await new Promise((r) => setTimeout(r, 100));
          }
          throw new Error('the campaign e-mail did not arrive');
        })();
        assert.equal(mail.to[0].address, demo('syndicate.admin'));
        for (let i = 0; i < 50; i += 1) {
          await page.reload();
          const stats = await page.getByRole('row').filter({ hasText: 'Fermeture de Noël' }).textContent();
          if (/envoyés 1/.test(stats)) break;
          await page.waitForTimeout(200);
        }
        await page.getByRole('row').filter({ hasText: 'Fermeture de Noël' }).getByText(/Public 1 · .* envoyés 1/).waitFor();

        // The person follows the link of the e-mail, logged in or not.
        const link = new URL(/<(http[^>]+)>/.exec(header(await maildev.source(mail.id), 'List-Unsubscribe'))[1]);
        const token = link.searchParams.get('token');
        // A tampered link is refused on purpose (400).
        await withPage(suite.browser, { allowConsole: [/status of 400/] }, async (visitor) => {
          await visitor.goto(`${suite.server.url}/unsubscribe?token=${encodeURIComponent(token)}`);
          await mainHeading(visitor, text.fr.unsubscribe).waitFor();
          await visitor.getByText('Vous ne recevrez plus : Informations et campagnes par e-mail.').waitFor();
          await visitor.getByRole('button', { name: 'Me désinscrire' }).click();
          await visitor.getByRole('status').getByText('C’est fait').waitFor();
          await visitor.goto(`${suite.server.url}/unsubscribe?token=${encodeURIComponent(token)}x`);
          await visitor.getByRole('alert').getByText('n’est plus valable').waitFor();
        });

        const me = await (await page.request.get(suite.server.url + '/api/v1/me')).json();
        await page.goto(suite.server.url + '/messages');
        await page.getByLabel('Numéro du compte (personnel)').fill(String(me.id));
        await page.getByRole('button', { name: 'Voir l’historique' }).click();
        await mainHeading(page, text.fr.history).waitFor();
        await page.getByTestId('history').getByRole('row').filter({ hasText: 'notify.campaign' }).waitFor();
      });
    });

    for (const lang of ['fr', 'en']) {
      test(`axe finds no serious or critical violation on the content screens in ${lang}`, async () => {
        // The refused unsubscribe link is visited on purpose (400).
        await withPage(suite.browser, { locale: browserLocales[lang], allowConsole: [/status of 400/] }, async (page) => {
          const w = text[lang];
          const found = [];
          const check = async (screen) => {
            for (const violation of await seriousA11yViolations(page)) found.push(`${screen}: ${violation}`);
          };
          await logInFully(page, suite.server.url, demo('syndicate.admin'), lang);
          await page.goto(suite.server.url + '/messages');
          await mainHeading(page, w.messages).waitFor();
          await waitForLang(page, lang);
          await check('messages hub');
          await page.goto(suite.server.url + '/messages/templates');
          await mainHeading(page, w.templates).waitFor();
          await page.locator('table').waitFor();
          await check('templates');
          await page.locator('table a').first().click();
          await page.locator('textarea').first().waitFor();
          await check('template editor');
          await page.goto(suite.server.url + '/messages/campaigns');
          await mainHeading(page, w.campaigns).waitFor();
          await page.locator('form select').first().waitFor();
          await check('campaigns');
          await page.goto(suite.server.url + '/account/messages');
          await mainHeading(page, w.prefs).waitFor();
          await page.locator('input[type=radio]').first().waitFor();
          await check('preferences');
          const me = await (await page.request.get(suite.server.url + '/api/v1/me')).json();
          await page.goto(`${suite.server.url}/messages/people/staff/${me.id}`);
          await page.locator('.result-count').getByText(/\d/).waitFor();
          await mainHeading(page, w.history).waitFor();
          await check('history');
          await page.goto(suite.server.url + '/unsubscribe?token=bad');
          await mainHeading(page, w.unsubscribe).waitFor();
          await page.getByRole('alert').waitFor();
          await check('unsubscribe refused');
          assert.deepEqual(found, []);
        });
      });
    }
  });
}
