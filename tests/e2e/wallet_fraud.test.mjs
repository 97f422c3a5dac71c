// The fraud screens (W20) as a regional admin uses them: in French, the rule form refuses a
// count of 0 in words, then sets "3 payments within 10 min, oppose the card" at the region; a
// real paired till pays three times with one card, the scan opens an alert that shows in the
// list with the action taken; its detail links to the point and shows the facts in words; the
// admin closes it with a required note in a dialog. In English, the closed alert is found with
// the state filter and the rule is inherited again with one button. Axe finds no serious fault
// on these screens in either language, and none scrolls sideways on a 360 px phone.
// On SQLite, and on PostgreSQL when GUICHET_TEST_PG is set.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { backends } from '../support/server.mjs';
import {
  mainHeading, phone, scrollsHorizontally, seriousA11yViolations, useServerAndBrowser, waitForLang, withPage,
} from './browser.mjs';
import { ApiClient, demo, identityServer } from './identity_support.mjs';

const hugoCard = '04A1B2C3D4E5F7';
const iban = 'FR7630006000011234567890189';
const sha256Hex = (text) => createHash('sha256').update(text).digest('hex');

/** A till with its own Ed25519 key that signs its requests as docs/pos-protocol.md says. */
class Till {
  constructor(baseUrl) {
    this.baseUrl = baseUrl;
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    this.publicKey = publicKey.export({ format: 'jwk' }).x;
    this.privateKey = privateKey;
    this.seq = 0;
  }

  async pair(code) {
    const response = await fetch(this.baseUrl + '/api/v1/devices/pair', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, public_key: this.publicKey }),
    });
    const text = await response.text();
    assert.equal(response.status, 201, text);
    this.id = JSON.parse(text).device_id;
  }

  async call(target, json) {
    const body = JSON.stringify(json);
    const timestamp = String(Date.now());
    const canonical = ['POST', target, timestamp, sha256Hex(body)].join('\n');
    const response = await fetch(this.baseUrl + target, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-device-id': String(this.id),
        'x-device-timestamp': timestamp,
        'x-device-signature': sign(null, Buffer.from(canonical), this.privateKey).toString('base64url'),
      },
      body,
    });
    return { status: response.status, body: await response.json() };
  }

  nextId() {
    this.seq += 1;
    return `${this.id}-${Date.now()}-${this.seq}`;
  }

  async reload(amount) {
    const reload = await this.call('/api/v1/pos/cash-reloads',
      { point_txn_id: this.nextId(), amount, support_number: hugoCard, point_at_ms: Date.now() });
    assert.equal(reload.status, 201, JSON.stringify(reload.body));
  }

  async pay(amount) {
    const id = this.nextId();
    const debit = await this.call('/api/v1/pos/debits',
      { point_txn_id: id, amount, support_number: hugoCard, point_at_ms: Date.now() });
    assert.equal(debit.status, 201, JSON.stringify(debit.body));
    const ack = await this.call('/api/v1/pos/acknowledgements',
      { point_txn_id: id, positive: true, point_at_ms: Date.now() });
    assert.equal(ack.status, 200, JSON.stringify(ack.body));
  }
}

async function useSession(page, baseUrl, api) {
  const [name, value] = api.cookie.split('=');
  await page.context().addCookies([{ name, value, url: baseUrl }]);
  await page.context().addInitScript(() => localStorage.setItem('guichet.session', '1'));
}

async function noSeriousFaults(page, where) {
  assert.deepEqual(await seriousA11yViolations(page), [], `axe on ${where}`);
}

const dialogButton = (page, name) => page.getByRole('dialog').getByRole('button', { name, exact: true });

for (const backend of backends()) {
  describe(`wallet fraud screens (${backend})`, () => {
    const suite = useServerAndBrowser(backend, identityServer);
    let admin; let region; let point; let till; let alertId;

    before(async () => {
      admin = new ApiClient(suite.server.url);
      await admin.enrol(demo('regional.admin'));
      const organisations = (await admin.call('GET', '/api/v1/organisations')).body.organisations;
      region = organisations.find((organisation) => organisation.kind === 'region');
      const merchant = await admin.call('POST', '/api/v1/wallet/merchants', {
        region_id: region.id, name: `Cafétéria fraude ${backend}`, iban, bic: 'AGRIFRPP', commission_bp: 150,
        contact_email: 'caisse@example.org' });
      assert.equal(merchant.status, 201, JSON.stringify(merchant.body));
      const created = await admin.call('POST', '/api/v1/wallet/points', {
        merchant_id: merchant.body.id, institution_id: `F-${process.pid}-${Date.now()}`, location: 'Crous-UGA-RU-Diderot-Caisse9',
        address: '1 rue Diderot, Grenoble', type: 'till', permissions: ['debit', 'cash_reload'] });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const approved = await admin.call('POST', `/api/v1/wallet/points/${created.body.id}/approve`, {});
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      point = approved.body.point;
      till = new Till(suite.server.url);
      await till.pair(approved.body.pairing.code);
      await till.reload(2000);
    });

    test('in French: the admin sets a rule, a till triggers it, the alert is listed and closed with a note', async () => {
      const baseUrl = suite.server.url;
      await withPage(suite.browser, { locale: 'fr-FR' }, async (page) => {
        await useSession(page, baseUrl, admin);
        await page.goto(baseUrl + '/wallet/fraud/rules');
        await mainHeading(page, 'Règles de fraude').waitFor();
        await waitForLang(page, 'fr');
        await page.getByRole('navigation').getByRole('link', { name: 'Fraude' }).waitFor();
        await page.getByTestId('rule-velocity-words').filter({ hasText: '10 paiements ou plus avec un même support en 10 min' }).waitFor();
        assert.equal(await page.getByTestId('rule-velocity-set').textContent(), 'Règle intégrée');
        assert.match(await page.getByTestId('rule-amount-words').textContent(), /Un paiement de 50,00\s€ ou plus/);
        await noSeriousFaults(page, 'the rules page');

        await page.getByRole('button', { name: 'Modifier : Fréquence des paiements' }).click();
        await page.getByLabel('Nombre', { exact: true }).fill('0');
        await page.getByRole('button', { name: 'Enregistrer la règle' }).click();
        await page.locator('.error-summary').getByText('Saisissez un nombre entier de 1 à 10000.').waitFor();
        await noSeriousFaults(page, 'the rule form with an error');
        await page.getByLabel('Nombre', { exact: true }).fill('3');
        await page.getByLabel('Fenêtre (minutes)').fill('10');
        await page.getByLabel('Alerter et mettre le support en opposition').check();
        await page.getByRole('button', { name: 'Enregistrer la règle' }).click();
        await page.getByRole('status').filter({ hasText: 'Règle « Fréquence des paiements » enregistrée.' }).waitFor();
        await page.waitForFunction(() => document.activeElement?.id === 'rule-velocity-title');
        await page.getByTestId('rule-velocity-words').filter({ hasText: '3 paiements ou plus avec un même support en 10 min' }).waitFor();
        assert.equal(await page.getByTestId('rule-velocity-set').textContent(), 'Fixée ici');
        assert.match(await page.getByTestId('rule-velocity').textContent(), /Alerter et mettre le support en opposition/);

        // The till pays three times with one card; the scan (rows younger than 5 s wait) opens the alert.
        for (let i = 0; i < 3; i += 1) await till.pay(150);
        const deadline = Date.now() + 30_000;
        for (;;) {
          assert.equal((await admin.call('POST', '/api/v1/wallet/fraud/scan', {})).status, 204);
          const alerts = (await admin.call('GET', '/api/v1/wallet/fraud/alerts')).body.alerts;
          const found = alerts.find((a) => a.rule === 'velocity' && a.point_id === point.id);
          if (found) { alertId = found.id; break; }
          assert.ok(Date.now() < deadline, 'no velocity alert after 30 s');
          await new Promise((resolve) => setTimeout(resolve, 500));
        }

        await page.getByRole('navigation').getByRole('link', { name: 'Fraude' }).click();
        await mainHeading(page, 'Alertes de fraude').waitFor();
        const row = page.getByTestId('fraud-alerts').getByRole('row').filter({ hasText: 'Fréquence des paiements' });
        const rowText = await row.textContent();
        assert.match(rowText, /3 paiements par le support n° \d+ en 10 min\./);
        assert.match(rowText, /Support mis en opposition/);
        await noSeriousFaults(page, 'the alerts list');

        await row.getByRole('link').click();
        await mainHeading(page, `Alerte Fréquence des paiements n° ${alertId}`).waitFor();
        assert.equal(await page.getByTestId('alert-state').textContent(), 'Ouverte');
        assert.equal(await page.getByTestId('alert-rule').textContent(),
          'Règle en vigueur lors de l’alerte : 3 paiements ou plus avec un même support en 10 min.');
        const facts = await page.getByTestId('alert-facts').textContent();
        assert.match(facts, /Paiements3/);
        assert.match(facts, /Fenêtre10 min/);
        await page.getByRole('link', { name: `Point de vente n° ${point.id}` }).waitFor();
        await noSeriousFaults(page, 'the alert');

        await page.getByRole('button', { name: 'Clôturer l’alerte' }).click();
        await page.getByRole('dialog').getByRole('heading', { name: 'Clôturer l’alerte' }).waitFor();
        await dialogButton(page, 'Clôturer').click();
        await page.getByRole('dialog').getByText('Saisissez une note de clôture.').first().waitFor();
        await noSeriousFaults(page, 'the closing dialog with an error');
        await page.getByLabel('Note de clôture').fill('Carte prêtée à un ami, vu avec l’étudiant');
        await dialogButton(page, 'Clôturer').click();
        await page.getByRole('status').filter({ hasText: 'L’alerte est clôturée.' }).waitFor();
        assert.equal(await page.getByTestId('alert-state').textContent(), 'Clôturée');
        assert.equal(await page.getByTestId('alert-note').textContent(), 'Carte prêtée à un ami, vu avec l’étudiant');
        assert.equal(await page.getByRole('button', { name: 'Clôturer l’alerte' }).count(), 0);
      });
    });

    test('in English: the closed alert under the state filter, the rule inherited again', async () => {
      const baseUrl = suite.server.url;
      assert.ok(alertId, 'the French test opened and closed an alert');
      await withPage(suite.browser, { locale: 'en-GB' }, async (page) => {
        await useSession(page, baseUrl, admin);
        await page.goto(baseUrl + '/wallet/fraud');
        await mainHeading(page, 'Fraud alerts').waitFor();
        await waitForLang(page, 'en');
        await page.getByRole('status').filter({ hasText: 'Alerts shown: 0' }).waitFor();
        await page.getByLabel('State').selectOption('closed');
        await page.getByRole('button', { name: 'Filter' }).click();
        const row = page.getByTestId('fraud-alerts').getByRole('row').filter({ hasText: 'Payment frequency' });
        const text = await row.textContent();
        assert.match(text, /3 payments by support no\. \d+ within 10 min\./);
        assert.match(text, /Support opposed/);
        assert.match(text, /Closed/);
        await noSeriousFaults(page, 'the closed alerts');
        await row.getByRole('link').click();
        await mainHeading(page, `Payment frequency alert no. ${alertId}`).waitFor();
        assert.match(await page.locator('dl.details').first().textContent(), /Closing noteCarte prêtée/);
        await noSeriousFaults(page, 'a closed alert');

        await page.goto(baseUrl + '/wallet/fraud/rules');
        await mainHeading(page, 'Fraud rules').waitFor();
        await page.getByTestId('rule-velocity-words').filter({ hasText: '3 payments or more with one support within 10 min' }).waitFor();
        assert.equal(await page.getByTestId('rule-velocity-set').textContent(), 'Set here');
        await noSeriousFaults(page, 'the rules page in English');
        await page.getByRole('button', { name: 'Inherit again: Payment frequency' }).click();
        await page.getByRole('status').filter({ hasText: 'The “Payment frequency” rule is inherited again.' }).waitFor();
        await page.getByTestId('rule-velocity-words').filter({ hasText: '10 payments or more with one support within 10 min' }).waitFor();
        assert.equal(await page.getByTestId('rule-velocity-set').textContent(), 'Built-in rule');
        assert.equal(await page.getByRole('button', { name: 'Inherit again: Payment frequency' }).count(), 0);

        // A 360 px phone: no sideways scrolling on any of the three screens.
        await page.setViewportSize(phone);
        for (const [path, heading] of [['/wallet/fraud?state=all', 'Fraud alerts'],
          [`/wallet/fraud/alerts/${alertId}`, `Payment frequency alert no. ${alertId}`], ['/wallet/fraud/rules', 'Fraud rules']]) {
          await page.goto(baseUrl + path);
          await mainHeading(page, heading).waitFor();
          await page.locator('[role="status"]').filter({ hasText: 'Loading' }).waitFor({ state: 'detached' });
          assert.equal(await scrollsHorizontally(page), false, `${path} scrolls sideways at 360 px`);
        }
      });
    });
  });
}
