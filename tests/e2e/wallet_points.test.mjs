// The back-office screens of the acceptance network as staff use them: a regional admin creates
// a merchant (validation messages in words first) and a point, approves it (the pairing code is
// shown once, and a real device pairs with it and takes a payment), cancels that payment, opposes
// the point with a reason (the history shows it), reactivates it and replaces its device; a
// refused payment is listed with its refusal in words. A merchant's staff member sees only its
// own points, may oppose one but not reactivate it, and another merchant's point is "not found".
// An admin's test account takes test money. Axe finds no serious fault on these screens in French
// and English, and none of them scrolls sideways on a 360 px phone.
// On SQLite, and on PostgreSQL when GUICHET_TEST_PG is set.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { backends } from '../support/server.mjs';
import {
  mainHeading, phone, scrollsHorizontally, seriousA11yViolations, useServerAndBrowser, waitForLang, withPage,
} from './browser.mjs';
import { ApiClient, demo, identityServer, logIn, words } from './identity_support.mjs';

const hugoCard = '04A1B2C3D4E5F7';
const iban = 'FR7630006000011234567890189';
// The server answers 404 to another merchant's point: the browser logs the failed load.
const expected404 = [/404/];

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

  /** A cash reload of `amount` cents on Hugo's card. */
  async reload(amount) {
    const reload = await this.call('/api/v1/pos/cash-reloads',
      { point_txn_id: this.nextId(), amount, support_number: hugoCard, point_at_ms: Date.now() });
    assert.equal(reload.status, 201, JSON.stringify(reload.body));
  }

  /** A debit of `amount` cents from Hugo's card, positively acknowledged. */
  async pay(amount) {
    const id = this.nextId();
    const debit = await this.call('/api/v1/pos/debits',
      { point_txn_id: id, amount, support_number: hugoCard, point_at_ms: Date.now() });
    assert.equal(debit.status, 201, JSON.stringify(debit.body));
    const ack = await this.call('/api/v1/pos/acknowledgements',
      { point_txn_id: id, positive: true, point_at_ms: Date.now() });
    assert.equal(ack.status, 200, JSON.stringify(ack.body));
    return id;
  }
}

/**
 * Puts an API session (logged in with its second factor) into the page's browser context, with
 * the hint the app keeps that a session exists (web/src/session.tsx), as a login would.
 */
async function useSession(page, baseUrl, api) {
  const [name, value] = api.cookie.split('=');
  await page.context().addCookies([{ name, value, url: baseUrl }]);
  await page.context().addInitScript(() => localStorage.setItem('guichet.session', '1'));
}

async function noSeriousFaults(page, where) {
  assert.deepEqual(await seriousA11yViolations(page), [], `axe on ${where}`);
}

/** The button of the open dialog named `name`. */
const dialogButton = (page, name) => page.getByRole('dialog').getByRole('button', { name, exact: true });

let tag = 0;
const unique = (prefix) => `${prefix}${process.pid}${Date.now() % 100000}${(tag += 1)}`;

for (const backend of backends()) {
  describe(`wallet points of sale screens (${backend})`, () => {
    const suite = useServerAndBrowser(backend, identityServer);
    let admin; let region;

    before(async () => {
      admin = new ApiClient(suite.server.url);
      await admin.enrol(demo('regional.admin'));
      const organisations = (await admin.call('GET', '/api/v1/organisations')).body.organisations;
      region = organisations.find((organisation) => organisation.kind === 'region');
    });

    /** A merchant and one pending point made through the API, for the tests about scope. */
    async function merchantWithPoint(name) {
      const merchant = await admin.call('POST', '/api/v1/wallet/merchants', {
        region_id: region.id, name, iban, bic: 'AGRIFRPP', commission_bp: 150, contact_email: 'caisse@example.org' });
      assert.equal(merchant.status, 201, JSON.stringify(merchant.body));
      const point = await admin.call('POST', '/api/v1/wallet/points', {
        merchant_id: merchant.body.id, institution_id: unique('P-'), location: `Crous-UG-${unique('L')}-Caisse`,
        address: '1 rue Diderot, Grenoble', type: 'till', permissions: ['debit'] });
      assert.equal(point.status, 201, JSON.stringify(point.body));
      return { merchant: merchant.body, point: point.body };
    }

    test('a regional admin creates a merchant and a point, approves, cancels a payment, opposes, reactivates, swaps the device',
      async () => {
        const baseUrl = suite.server.url;
        const name = unique('Cafétéria ');
        const institutionId = unique('UGA-');
        const location = `Crous-UG-RU-${unique('UD')}-Caisse`;
        await withPage(suite.browser, { locale: 'fr-FR' }, async (page) => {
          await useSession(page, baseUrl, admin);
          await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl });
          await page.goto(baseUrl + '/wallet/merchants');
          await mainHeading(page, 'Commerçants').waitFor();
          await waitForLang(page, 'fr');
          await page.getByRole('navigation').getByRole('link', { name: 'Points de vente' }).waitFor();

          // Refused in words before anything is sent.
          await page.getByLabel('IBAN', { exact: true }).fill('FR76 3000 6000 0112 3456 7890 188');
          await page.getByLabel('BIC', { exact: true }).fill('AGRI');
          await page.getByLabel('Commission (%)').fill('150');
          await page.getByLabel('Période de règlement (jours)').fill('45');
          await page.getByRole('button', { name: 'Créer le commerçant' }).click();
          const summary = page.locator('.error-summary');
          await summary.waitFor();
          const text = await summary.textContent();
          assert.match(text, /Saisissez le nom du commerçant/);
          assert.match(text, /Cet IBAN n’est pas valide/);
          assert.match(text, /Le BIC fait 8 ou 11 lettres et chiffres/);
          assert.match(text, /La commission est un pourcentage entre 0 et 100/);
          assert.match(text, /un nombre de jours entre 1 et 30/);
          await waitForFocusIn(summary);
          await noSeriousFaults(page, 'the merchant form with errors');

          await page.getByLabel('Nom', { exact: true }).fill(name);
          await page.getByLabel('Adresse e-mail de contact').fill('cafeteria@example.org');
          await page.getByLabel('IBAN', { exact: true }).fill('FR76 3000 6000 0112 3456 7890 189');
          await page.getByLabel('BIC', { exact: true }).fill('agrifrpp');
          await page.getByLabel('Commission (%)').fill('1,5');
          await page.getByLabel('Période de règlement (jours)').fill('30');
          await page.getByRole('button', { name: 'Créer le commerçant' }).click();
          await page.getByRole('status').filter({ hasText: `Le commerçant « ${name} » est créé.` }).waitFor();
          const row = page.getByRole('row').filter({ hasText: name });
          assert.match(await row.textContent(), /•••• 0189/);
          assert.match(await row.textContent(), /1,5\s%/);
          assert.equal((await page.content()).includes('1234567890'), false, 'the IBAN is never shown whole');

          await row.getByRole('link', { name }).click();
          await mainHeading(page, name).waitFor();
          await page.getByRole('link', { name: 'Nouveau point de vente' }).click();
          await mainHeading(page, 'Nouveau point de vente').waitFor();
          await page.getByLabel('Identifiant de l’établissement').fill(institutionId);
          await page.getByLabel('Emplacement').fill('Crous');
          await page.getByLabel('Adresse', { exact: true }).fill('1 rue Diderot, 38000 Grenoble');
          await page.getByRole('button', { name: 'Déclarer le point de vente' }).click();
          await page.locator('.error-summary').getByText(/L’emplacement compte 2 à 8 segments/).waitFor();
          await page.getByLabel('Emplacement').fill(location);
          await page.getByLabel('Annuler ses débits').check();
          await page.getByLabel('Recharger en espèces').check();
          await page.getByLabel('Débiter des jetons MEAL').check();
          await noSeriousFaults(page, 'the new point form');
          await page.getByRole('button', { name: 'Déclarer le point de vente' }).click();
          await mainHeading(page, `Point de vente ${location}`).waitFor();
          assert.equal(await page.getByTestId('point-state').textContent(), 'En attente');
          const details = await page.locator('dl.details').textContent();
          assert.match(details, new RegExp(institutionId));
          assert.match(details, /Débiter en euros, Contrôler l’horloge|Contrôler l’horloge, Débiter en euros/);
          assert.match(details, /Débiter des jetons MEAL/);

          // Approval: the pairing code, once, with a copy button; a real device pairs with it.
          await page.getByRole('button', { name: 'Approuver', exact: true }).click();
          const code = (await page.getByTestId('pairing-code').textContent()).trim();
          assert.match(code, /^[A-Z0-9-]{6,}$/);
          assert.match(await page.getByTestId('pairing').textContent(), /Valable jusqu’au/);
          await page.getByRole('button', { name: 'Copier le code' }).click();
          await page.getByText('Le code est copié.').waitFor();
          assert.equal(await page.evaluate(() => navigator.clipboard.readText()), code);
          await page.getByTestId('point-state').filter({ hasText: 'Approuvé' }).waitFor();
          await noSeriousFaults(page, 'the approved point with its pairing code');
          const till = new Till(baseUrl);
          await till.pair(code);
          await till.reload(500);
          const paid = await till.pay(150);

          // The payment in the table (amount in French), then cancelled by the admin.
          await page.reload();
          await mainHeading(page, `Point de vente ${location}`).waitFor();
          assert.equal(await page.getByTestId('pairing').count(), 0, 'the pairing code is shown once only');
          const payment = page.getByTestId('point-transactions').getByRole('row').filter({ hasText: '1,50' });
          assert.match(await payment.textContent(), /Débit.*1,50\s€.*Acquittée.*Non/);
          await payment.getByRole('button', { name: /Annuler/ }).click();
          await page.getByRole('dialog').getByRole('heading', { name: /Annuler ce débit de 1,50\s€/ }).waitFor();
          await page.getByLabel('Motif').fill('Erreur de caisse');
          await dialogButton(page, 'Annuler le débit').click();
          await page.getByRole('status').filter({ hasText: `Le débit ${paid} est annulé` }).waitFor();
          await page.getByTestId('point-transactions').getByText('Annulée').waitFor();
          await page.getByTestId('point-transactions').getByText('Annulation').waitFor();

          // Opposition: the reason is required, then the history shows it.
          await page.getByRole('button', { name: 'Faire opposition', exact: true }).click();
          await dialogButton(page, 'Faire opposition').click();
          await page.getByRole('dialog').getByText('Saisissez le motif.').first().waitFor();
          await noSeriousFaults(page, 'the opposition dialog');
          await page.getByLabel('Motif').fill('Terminal volé');
          await dialogButton(page, 'Faire opposition').click();
          await page.getByTestId('point-state').filter({ hasText: 'En opposition' }).waitFor();
          // The button that was pressed is gone: the focus is on the actions, not lost.
          await waitForFocusIn(page.getByRole('heading', { level: 2, name: 'Actions', exact: true }));
          const history = page.getByTestId('point-history');
          await history.getByText('Motif : Terminal volé').waitFor();
          assert.equal(await page.getByRole('dialog').count(), 0);
          assert.equal((await till.call('/api/v1/pos/debits', { point_txn_id: `${till.id}-refused`, amount: 100,
            support_number: hugoCard, point_at_ms: Date.now() })).body.code, 'point_opposed');

          await page.getByRole('button', { name: 'Réactiver', exact: true }).click();
          await page.getByLabel('Motif').fill('Terminal retrouvé');
          await dialogButton(page, 'Réactiver').click();
          await page.getByTestId('point-state').filter({ hasText: 'Approuvé' }).waitFor();
          await history.getByText('Motif : Terminal retrouvé').waitFor();
          const events = await history.locator('.timeline__action').allTextContents();
          assert.deepEqual(events.slice(0, 4), ['Réactivé', 'Opposition', 'Terminal appairé', 'Approuvé']);

          // A refused payment is listed with its refusal in words, not its code.
          const refused = await till.call('/api/v1/pos/debits', { point_txn_id: till.nextId(), amount: 99_999,
            support_number: hugoCard, point_at_ms: Date.now() });
          assert.equal(refused.status, 422, JSON.stringify(refused.body));
          const refusalWords = { insufficient_funds: 'Solde insuffisant', threshold_exceeded: 'Plafond dépassé' };
          assert.ok(refusalWords[refused.body.code], refused.body.code);
          await page.reload();
          const refusedRow = page.getByTestId('point-transactions').getByRole('row').filter({ hasText: 'Refusée' });
          assert.match(await refusedRow.textContent(), new RegExp(`999,99\\s€.*${refusalWords[refused.body.code]}`));
          assert.equal(await refusedRow.getByRole('button').count(), 0, 'a refused debit cannot be cancelled');

          // Device swap: a reason, a new pairing code; the old device is cut off at once.
          await page.getByRole('button', { name: 'Remplacer le terminal', exact: true }).click();
          await page.getByLabel('Motif').fill('Terminal en panne');
          await dialogButton(page, 'Remplacer le terminal').click();
          const newCode = (await page.getByTestId('pairing-code').textContent()).trim();
          assert.notEqual(newCode, code);
          await history.getByText('Motif : Terminal en panne').waitFor();
          assert.equal((await history.locator('.timeline__action').first().textContent()), 'Terminal remplacé');
          const cut = await till.call('/api/v1/pos/debits', { point_txn_id: till.nextId(), amount: 100,
            support_number: hugoCard, point_at_ms: Date.now() });
          assert.ok([401, 403].includes(cut.status), JSON.stringify(cut.body));
          await noSeriousFaults(page, 'the point detail');

          // The list filters by state, type and merchant.
          await page.goto(baseUrl + '/wallet/points');
          await mainHeading(page, 'Points de vente').waitFor();
          await page.getByLabel('État').selectOption({ label: 'Approuvé' });
          await page.getByLabel('Commerçant').selectOption({ label: name });
          await page.getByRole('button', { name: 'Filtrer', exact: true }).click();
          await page.waitForURL(/state=approved/);
          await page.getByRole('status').filter({ hasText: 'Points de vente affichés : 1' }).waitFor();
          await page.getByRole('link', { name: location }).waitFor();
          await page.getByLabel('État').selectOption({ label: 'En attente' });
          await page.getByRole('button', { name: 'Filtrer', exact: true }).click();
          await page.getByRole('status').filter({ hasText: 'Points de vente affichés : 0' }).waitFor();
          await noSeriousFaults(page, 'the points list');
        });
      });

    test('a merchant’s staff member sees only its own points and may oppose but not reactivate; another merchant’s point is not found', async () => {
      const baseUrl = suite.server.url;
      const own = await merchantWithPoint(unique('Laverie '));
      const other = await merchantWithPoint(unique('Copies '));
      const staff = (await admin.call('GET', '/api/v1/staff')).body.staff;
      const marc = staff.find((person) => person.email === demo('merchant'));
      const granted = await admin.call('POST', `/api/v1/staff/${marc.id}/grants`,
        { organisation_id: own.merchant.id, profile: 'wallet.merchant' });
      assert.equal(granted.status, 201, JSON.stringify(granted.body));

      await withPage(suite.browser, { locale: 'fr-FR', allowConsole: expected404 }, async (page) => {
        await logIn(page, baseUrl, demo('merchant'));
        await mainHeading(page, words.fr.home).waitFor();
        await page.getByRole('navigation').getByRole('link', { name: 'Points de vente' }).click();
        await mainHeading(page, 'Points de vente').waitFor();
        await page.getByRole('link', { name: own.point.location }).waitFor();
        assert.equal(await page.getByRole('link', { name: other.point.location }).count(), 0);
        assert.equal(await page.getByRole('link', { name: 'Nouveau point de vente' }).count(), 0);

        await page.getByRole('link', { name: own.point.location }).click();
        await mainHeading(page, `Point de vente ${own.point.location}`).waitFor();
        await page.getByRole('button', { name: 'Faire opposition', exact: true }).waitFor();
        assert.equal(await page.getByRole('button', { name: 'Approuver', exact: true }).count(), 0);
        await page.getByRole('button', { name: 'Faire opposition', exact: true }).click();
        await page.getByLabel('Motif').fill('Caisse fermée pour travaux');
        await dialogButton(page, 'Faire opposition').click();
        await page.getByTestId('point-state').filter({ hasText: 'En opposition' }).waitFor();
        await page.getByText('Seul un administrateur peut réactiver ce point.').waitFor();
        assert.equal(await page.getByRole('button', { name: 'Réactiver', exact: true }).count(), 0);

        await page.goto(`${baseUrl}/wallet/points/${other.point.id}`);
        await mainHeading(page, 'Point de vente introuvable').waitFor();
        assert.equal((await page.content()).includes(other.point.location), false);
        await page.goto(`${baseUrl}/wallet/merchants/${other.merchant.id}`);
        await mainHeading(page, 'Commerçant introuvable').waitFor();
        await page.goto(`${baseUrl}/wallet/test-account`);
        await mainHeading(page, 'Accès refusé').waitFor();
      });
    });

    test('an admin’s test account shows its support and balances and takes test money', async () => {
      const baseUrl = suite.server.url;
      await withPage(suite.browser, { locale: 'fr-FR' }, async (page) => {
        await useSession(page, baseUrl, admin);
        await page.goto(baseUrl + '/wallet/test-account');
        await mainHeading(page, 'Mon compte de test').waitFor();
        const support = (await page.getByTestId('test-support').textContent()).trim();
        assert.ok(support.length > 0);
        const balances = page.getByTestId('test-balances');
        const before = await balances.getByRole('row').filter({ hasText: 'Euros' }).textContent();
        const cents = (text) => Number(/(\d[\d\s]*),(\d\d)\s€/.exec(text)[0].replace(/[^\d]/g, ''));

        await page.getByLabel('Montant en euros').fill('0');
        await page.getByRole('button', { name: 'Créditer' }).click();
        await page.locator('.error-summary').getByText(/Saisissez un montant en euros supérieur à 0/).waitFor();

        await page.getByLabel('Montant en euros').fill('12,50');
        await page.getByRole('button', { name: 'Créditer' }).click();
        await page.getByRole('status').filter({ hasText: /12,50\s€ de test ajoutés/ }).waitFor();
        const after = await balances.getByRole('row').filter({ hasText: 'Euros' }).textContent();
        assert.equal(cents(after) - cents(before), 1250);
        await noSeriousFaults(page, 'the test account');
      });
    });

    test('the screens in English pass axe with no serious fault', async () => {
      const baseUrl = suite.server.url;
      const shop = unique('Shop ');
      const { merchant, point } = await merchantWithPoint(shop);
      await withPage(suite.browser, { locale: 'en-GB' }, async (page) => {
        await useSession(page, baseUrl, admin);
        const screens = [
          ['/wallet/merchants', 'Merchants'],
          [`/wallet/merchants/${merchant.id}`, shop],
          ['/wallet/points', 'Points of sale'],
          ['/wallet/points/new', 'New point of sale'],
          [`/wallet/points/${point.id}`, `Point of sale ${point.location}`],
          ['/wallet/test-account', 'My test account'],
        ];
        for (const [path, heading] of screens) {
          await page.goto(baseUrl + path);
          await mainHeading(page, heading).waitFor();
          await waitForLang(page, 'en');
          await page.locator('[role="status"]').filter({ hasText: 'Loading' }).waitFor({ state: 'detached' });
          await noSeriousFaults(page, path);
        }
        await page.getByTestId('test-balances').getByText('€').first().waitFor();
        assert.match(await page.getByTestId('test-balances').textContent(), /€\d+\.\d\d/);

        // A 360 px phone: no sideways scrolling on any of them.
        await page.setViewportSize(phone);
        for (const [path, heading] of screens) {
          await page.goto(baseUrl + path);
          await mainHeading(page, heading).waitFor();
          await page.locator('[role="status"]').filter({ hasText: 'Loading' }).waitFor({ state: 'detached' });
          assert.equal(await scrollsHorizontally(page), false, `${path} scrolls sideways at 360 px`);
        }
      });
    });
  });
}

/** Waits until `locator`'s element has the focus (the summary is focused after a refusal). */
async function waitForFocusIn(locator) {
  const element = await locator.elementHandle();
  await locator.page().waitForFunction((el) => el.contains(document.activeElement), element);
}
