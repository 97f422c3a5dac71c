// The messages screens as staff use them: registering a partner's webhook (the secret shown
// once), sending a test event that a real receiving server gets, reading the delivery log,
// replaying, rotating the secret; the addresses found bad and clearing one; the push
// notifications section of the account page; axe (no serious or critical finding) on each
// screen in French and English.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { backends } from '../support/server.mjs';
import { startPushServiceSimulator } from '../support/push-service-simulator/simulator.mjs';
import {
  browserLocales, mainHeading, seriousA11yViolations, useServerAndBrowser, waitForLang, withPage,
} from './browser.mjs';
import { ApiClient, demo, identityServer, logIn, words } from './identity_support.mjs';

/** Logs in and waits for the home page, so that the session is in force before moving on. */
async function logInFully(page, baseUrl, email, lang = 'fr') {
  await logIn(page, baseUrl, email, { lang });
  await mainHeading(page, words[lang].home).waitFor();
}

const server = {
  demo: true,
  env: {
    ...identityServer.env,
    GUICHET_WEBHOOK_ALLOW_HTTP: 'true',
    GUICHET_NOTIFY_POLL_MS: '1000',
    GUICHET_NOTIFY_BACKOFF_BASE_MS: '10',
    GUICHET_NOTIFY_BACKOFF_MAX_MS: '50',
    GUICHET_JOBS_POLL_MS: '50',
  },
};

const text = {
  fr: {
    messages: 'Messages', webhooks: 'Webhooks', webhook: 'Webhook', bad: 'Adresses en erreur',
    add: 'Ajouter le webhook', organisation: 'Organisation', url: 'Adresse (URL)',
    test: 'Envoyer un événement de test', rotate: 'Changer le secret', refresh: 'Actualiser',
    received: 'Reçu', replay: 'Renvoyer', clear: 'Libérer', account: 'Mon compte',
    push: 'Notifications sur cet appareil',
  },
  en: {
    messages: 'Messages', webhooks: 'Webhooks', webhook: 'Webhook', bad: 'Addresses in error',
    add: 'Add the webhook', organisation: 'Organisation', url: 'Address (URL)',
    test: 'Send a test event', rotate: 'Change the secret', refresh: 'Refresh',
    received: 'Received', replay: 'Send again', clear: 'Clear', account: 'My account',
    push: 'Notifications on this device',
  },
};

async function startReceiver() {
  const requests = [];
  const receiver = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${receiver.address().port}`, requests,
    stop: () => new Promise((r) => receiver.close(r)) };
}

const signatureOk = (secret, request) => {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key)
    .update(`${request.headers['webhook-id']}.${request.headers['webhook-timestamp']}.${request.body}`)
    .digest('base64');
  return request.headers['webhook-signature'].split(' ').includes(`v1,${expected}`);
};

/** Makes a push endpoint bad through the real path: subscribed, expired at the push service. */
async function badPushAddress(baseUrl, push) {
  const api = new ApiClient(baseUrl);
  assert.equal((await api.call('POST', '/api/v1/session',
    { email: demo('syndicate.admin'), password: 'Vercors-Granit-Saule-47' })).status, 200);
  const orgs = (await api.call('GET', '/api/v1/organisations')).body.organisations;
  const cityId = orgs.find((o) => o.name === 'Ville de Vénissieux').id;
  const subscription = push.subscribe();
  assert.equal((await api.call('POST', '/api/v1/notify/push/subscriptions', subscription)).status, 201);
  push.expire(subscription.endpoint);
  const queued = await api.call('POST', '/api/v1/diagnostics/messages', {
    channel: 'push', recipient: subscription.endpoint, template_code: 'test', organisation_id: cityId,
    variables: { subject: 'x', text: 'y' },
  });
  assert.equal(queued.status, 201);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const list = await api.call('GET', '/api/v1/notify/bad-addresses');
    if (list.body.items.some((b) => b.address === subscription.endpoint)) return subscription.endpoint;
    assert.ok(Date.now() < deadline, 'the expired push endpoint was not marked bad');
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const backend of backends()) {
  describe(`messages screens (${backend})`, () => {
    const suite = useServerAndBrowser(backend, server);
    let receiver; let push; let cityEndpoint;
    before(async () => {
      receiver = await startReceiver();
      push = await startPushServiceSimulator();
      // An endpoint of another organisation of the tree, so the axe pass has a detail page to open
      // whatever ran before it.
      const api = new ApiClient(suite.server.url);
      assert.equal((await api.call('POST', '/api/v1/session',
        { email: demo('syndicate.admin'), password: 'Vercors-Granit-Saule-47' })).status, 200);
      const orgs = (await api.call('GET', '/api/v1/organisations')).body.organisations;
      const city = orgs.find((o) => o.name === 'Ville de Vénissieux');
      const created = await api.call('POST', `/api/v1/organisations/${city.id}/webhooks`,
        { url: receiver.url + '/city', description: 'Logiciel de la ville', event_types: ['webhook.test'] });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      cityEndpoint = created.body.id;
    });
    after(async () => {
      await receiver?.stop();
      await push?.stop();
    });

    test('a syndicate administrator registers a webhook, tests it, replays and rotates its secret',
      async () => {
        await withPage(suite.browser, { locale: 'fr-FR' }, async (page) => {
          const w = text.fr;
          await logInFully(page, suite.server.url, demo('syndicate.admin'));
          await page.getByRole('navigation').getByRole('link', { name: w.messages }).click();
          await mainHeading(page, w.messages).waitFor();
          await page.getByRole('main').getByRole('link', { name: w.webhooks }).click();
          await mainHeading(page, w.webhooks).waitFor();

          // Sent empty: every missing field is named, with a link to it.
          await page.getByRole('button', { name: w.add }).click();
          const summary = page.locator('.error-summary');
          await summary.waitFor();
          assert.equal(await summary.locator('li').count(), 3);

          const select = page.getByLabel(w.organisation);
          const value = await select.locator('option', { hasText: 'SITIV' }).first().getAttribute('value');
          await select.selectOption(value);
          await page.getByLabel(w.url).fill(receiver.url + '/guichet');
          await page.getByLabel('diagnostics.ping').check();
          await page.getByRole('button', { name: w.add }).click();
          const secret = (await page.getByTestId('webhook-secret').textContent()).trim();
          assert.match(secret, /^whsec_/);
          await page.getByRole('link', { name: `Voir le webhook ${receiver.url}/guichet` }).click();
          await mainHeading(page, w.webhook).waitFor();
          assert.equal(await page.getByTestId('webhook-url').textContent(), receiver.url + '/guichet');

          await page.getByRole('button', { name: w.test }).click();
          await page.getByRole('status').getByText('L’événement de test est envoyé.').waitFor();
          const log = page.getByTestId('webhook-log');
          for (let i = 0; i < 100; i += 1) {
            await page.getByRole('button', { name: w.refresh }).click();
            if (await log.getByRole('cell', { name: w.received }).count() > 0) break;
            await page.waitForTimeout(200);
          }
          await log.getByRole('cell', { name: w.received }).first().waitFor();
          await log.getByText('HTTP 200 — reçu').first().waitFor();
          assert.equal(receiver.requests.length, 1);
          assert.ok(signatureOk(secret, receiver.requests[0]));
          assert.equal(JSON.parse(receiver.requests[0].body).type, 'webhook.test');

          await log.getByRole('button', { name: w.replay }).first().click();
          await page.getByRole('status').getByText('L’envoi est renvoyé.').waitFor();
          for (let i = 0; i < 100 && receiver.requests.length < 2; i += 1) await page.waitForTimeout(100);
          assert.equal(receiver.requests.length, 2);
          assert.equal(receiver.requests[1].headers['webhook-id'], receiver.requests[0].headers['webhook-id']);

          await page.getByRole('button', { name: w.rotate }).click();
          const rotated = (await page.getByTestId('webhook-secret').textContent()).trim();
          assert.notEqual(rotated, secret);
        });
      });

    test('addresses found bad are listed and cleared', async () => {
      const endpoint = await badPushAddress(suite.server.url, push);
      await withPage(suite.browser, { locale: 'fr-FR' }, async (page) => {
        await logInFully(page, suite.server.url, demo('syndicate.admin'));
        await page.goto(suite.server.url + '/messages/bad-addresses');
        await mainHeading(page, text.fr.bad).waitFor();
        const row = page.getByRole('row').filter({ hasText: endpoint });
        await row.waitFor();
        await row.getByRole('button', { name: new RegExp(`^${text.fr.clear}`) }).click();
        await page.getByRole('status').getByText('est libérée').waitFor();
        await page.getByRole('row').filter({ hasText: endpoint }).waitFor({ state: 'detached' });
      });
    });

    test('the account page offers push notifications on this device', async () => {
      await withPage(suite.browser, { locale: 'fr-FR' }, async (page) => {
        await logInFully(page, suite.server.url, demo('syndicate.admin'));
        await page.goto(suite.server.url + '/account');
        await page.getByRole('heading', { name: text.fr.push }).waitFor();
        await page.getByTestId('push-state').waitFor();
        const worker = await page.request.get(suite.server.url + '/sw.js');
        assert.equal(worker.status(), 200);
        assert.match(worker.headers()['content-type'], /javascript/);
        assert.match(await worker.text(), /addEventListener\('push'/);
      });
    });

    for (const lang of ['fr', 'en']) {
      test(`axe finds no serious or critical violation on the messages screens in ${lang}`, async () => {
        await withPage(suite.browser, { locale: browserLocales[lang] }, async (page) => {
          const w = text[lang];
          const found = [];
          const check = async (screen) => {
            for (const violation of await seriousA11yViolations(page)) found.push(`${screen}: ${violation}`);
          };
          await logInFully(page, suite.server.url, demo('syndicate.admin'), lang);
          await page.goto(suite.server.url + '/messages');
          await mainHeading(page, w.messages).waitFor();
          await waitForLang(page, lang);
          await check('messages');
          await page.goto(suite.server.url + '/messages/webhooks');
          await mainHeading(page, w.webhooks).waitFor();
          await page.getByRole('button', { name: w.add }).click();
          await page.locator('.error-summary').waitFor();
          await check('webhooks with errors');
          await page.goto(`${suite.server.url}/messages/webhooks/${cityEndpoint}`);
          await mainHeading(page, w.webhook).waitFor();
          await page.getByText(w.refresh).waitFor();
          await check('webhook');
          await page.goto(suite.server.url + '/messages/bad-addresses');
          await mainHeading(page, w.bad).waitFor();
          await check('bad addresses');
          await page.goto(suite.server.url + '/account');
          await page.getByRole('heading', { name: w.push }).waitFor();
          await check('account with push');
          assert.deepEqual(found, []);
        });
      });
    }
  });
}
