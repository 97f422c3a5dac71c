// Webhooks and web push end to end (issue 4 items 4 and 5): the real binary POSTs signed events
// to a receiving server started here (real HTTP; it checks the Standard Webhooks signature with
// its own code), retries, disables an endpoint that answers 410, keeps a delivery log, replays;
// and sends web push messages to the push service simulator, which verifies the VAPID token and
// decrypts the payload with the subscriber's key (RFC 8291). Real delivery to a browser's push
// service is not shown here: no such service is reachable.
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { backends, startServer } from '../support/server.mjs';
import { startPushServiceSimulator } from '../support/push-service-simulator/simulator.mjs';
import { expectProblem, pollUntil, postJson } from './lib.mjs';
import { Client } from './identity_client.mjs';

/** Standard Webhooks verification, written apart from the server's signing code. */
function signaturesValid(secret, headers, body) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key)
    .update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest();
  return (headers['webhook-signature'] ?? '').split(' ').map((part) => {
    const [version, value] = part.split(',');
    const given = Buffer.from(value ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** A partner's receiving server: records every request; answers per path. */
async function startReceiver() {
  const requests = [];
  const scripts = new Map();  // path → list of statuses to answer in turn (the last one repeats)
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ path: req.url, headers: req.headers, body });
      const script = scripts.get(req.url) ?? [200];
      const status = script.length > 1 ? script.shift() : script[0];
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status < 300 ? 'thanks' : `refused with ${status}`);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, requests, script: (path, statuses) => scripts.set(path, statuses),
    at: (path) => requests.filter((r) => r.path === path), stop: () => new Promise((r) => server.close(r)) };
}

for (const backend of backends()) {
  describe(`webhooks and web push (${backend})`, () => {
    let server; let admin; let receiver; let push; let cityId; let syndicateId;

    before(async () => {
      receiver = await startReceiver();
      push = await startPushServiceSimulator();
      server = await startServer({ backend, demo: true, env: {
        GUICHET_WEBHOOK_ALLOW_HTTP: 'true',
        GUICHET_NOTIFY_POLL_MS: '1000',
        GUICHET_NOTIFY_BACKOFF_BASE_MS: '10',
        GUICHET_NOTIFY_BACKOFF_MAX_MS: '50',
        GUICHET_NOTIFY_ATTEMPTS_MAX: '4',
        GUICHET_JOBS_POLL_MS: '50',
      } });
      admin = new Client(server);
      const login = await admin.login('syndicate.admin@demo.guichet.fr');
      assert.equal(login.status, 200, login.text);
      const orgs = await admin.call('GET', '/api/v1/organisations');
      cityId = orgs.body.organisations.find((o) => o.name === 'Ville de Vénissieux').id;
      syndicateId = orgs.body.organisations.find((o) => o.name.startsWith('SITIV — ')).id;
    });
    after(async () => {
      await server?.stop();
      await receiver?.stop();
      await push?.stop();
    });

    const createEndpoint = async (path, types = ['diagnostics.ping'], org = syndicateId) => {
      const r = await admin.call('POST', `/api/v1/organisations/${org}/webhooks`,
        { url: receiver.url + path, description: `receiver ${path}`, event_types: types });
      assert.equal(r.status, 201, r.text);
      return r.body;
    };
    const emit = async (data, org = cityId) => {
      const r = await postJson(server, '/api/v1/diagnostics/webhook-events',
        { organisation_id: org, type: 'diagnostics.ping', data });
      assert.equal(r.status, 201, r.text);
      return r.body.message_ids;
    };
    // The event's delivery to one endpoint (an event goes to every endpoint subscribed).
    const emitTo = async (endpoint, data) => {
      const ids = await emit(data);
      const log = await admin.call('GET', `/api/v1/notify/webhooks/${endpoint.id}/deliveries`);
      const found = log.body.items.find((d) => ids.includes(d.message_id));
      assert.ok(found, `no delivery to endpoint ${endpoint.id} among ${ids}`);
      return found.message_id;
    };
    const delivery = async (id, states) => pollUntil(async () => {
      const r = await admin.call('GET', `/api/v1/notify/webhook-deliveries/${id}`);
      assert.equal(r.status, 200, r.text);
      return states.includes(r.body.state) ? r.body : null;
    }, { timeoutMs: 20000, what: `webhook delivery ${id} in ${states}` });

    test('an event in a city reaches the syndicate endpoint, signed; the log shows the attempt', async () => {
      const types = await admin.call('GET', '/api/v1/notify/webhook-event-types');
      assert.deepEqual(types.body.items.map((t) => t.name).sort(), ['diagnostics.ping', 'webhook.test']);
      const endpoint = await createEndpoint('/ok');
      assert.match(endpoint.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.equal(endpoint.enabled, true);
      const shown = await admin.call('GET', `/api/v1/notify/webhooks/${endpoint.id}`);
      assert.equal(shown.body.secret, undefined, 'the secret is shown once only');

      const id = await emitTo(endpoint, { invoice: 'F-2026-11-0042', amount_cents: 4250 });
      const done = await delivery(id, ['sent']);
      const [got] = receiver.at('/ok');
      assert.ok(got, 'the receiver got the event');
      assert.deepEqual(signaturesValid(endpoint.secret, got.headers, got.body), [true]);
      assert.equal(got.headers['content-type'], 'application/json');
      assert.match(got.headers['webhook-id'], /^msg_/);
      assert.match(got.headers['webhook-timestamp'], /^\d+$/);
      const event = JSON.parse(got.body);
      assert.equal(event.type, 'diagnostics.ping');
      assert.deepEqual(event.data, { invoice: 'F-2026-11-0042', amount_cents: 4250 });
      assert.equal(done.webhook_id, got.headers['webhook-id']);
      assert.equal(done.attempts.length, 1);
      assert.equal(done.attempts[0].status_code, 200);
      assert.equal(done.attempts[0].outcome, 'sent');
      assert.equal(done.attempts[0].response_excerpt, 'thanks');
      assert.equal(typeof done.attempts[0].duration_ms, 'number');
      const log = await admin.call('GET', `/api/v1/notify/webhooks/${endpoint.id}/deliveries`);
      assert.deepEqual(log.body.items.map((d) => d.message_id), [id]);

      // The test event goes to this endpoint whatever it subscribes to.
      const queued = await admin.call('POST', `/api/v1/notify/webhooks/${endpoint.id}/test`);
      assert.equal(queued.status, 202, queued.text);
      await delivery(queued.body.message_id, ['sent']);
      const testEvent = receiver.at('/ok').map((r) => JSON.parse(r.body)).find((e) => e.type === 'webhook.test');
      assert.equal(testEvent.data.endpoint_id, endpoint.id);
    });

    test('refused input: scheme, unknown event type, unknown fields; other trees see 404, agents 403', async () => {
      const bad = await admin.call('POST', `/api/v1/organisations/${syndicateId}/webhooks`,
        { url: 'ftp://example.org/x', event_types: ['no.such.event'], colour: 'red' });
      const problem = expectProblem(bad, 422, 'validation_failed');
      const pointers = problem.errors.map((e) => e.pointer).sort();
      assert.deepEqual(pointers, ['/colour']);  // unknown fields first: the reader refuses them
      const bad2 = await admin.call('POST', `/api/v1/organisations/${syndicateId}/webhooks`,
        { url: 'ftp://example.org/x', event_types: ['no.such.event'] });
      assert.deepEqual(expectProblem(bad2, 422, 'validation_failed').errors.map((e) => e.pointer).sort(),
        ['/event_types/0', '/url']);
      const endpoint = await createEndpoint('/private');
      const other = new Client(server);
      assert.equal((await other.login('pass.admin@demo.guichet.fr')).status, 200);
      expectProblem(await other.call('GET', `/api/v1/notify/webhooks/${endpoint.id}`), 404, 'webhook_not_found');
      expectProblem(await other.call('POST', `/api/v1/notify/webhooks/${endpoint.id}/rotate-secret`), 404,
        'webhook_not_found');
      const list = await other.call('GET', '/api/v1/notify/webhooks');
      assert.equal(list.body.items.some((e) => e.id === endpoint.id), false);
      const agent = new Client(server);
      assert.equal((await agent.login('city.agent@demo.guichet.fr')).status, 200);
      assert.equal((await agent.call('GET', '/api/v1/notify/webhooks')).status, 403);
      const removed = await admin.call('DELETE', `/api/v1/notify/webhooks/${endpoint.id}`);
      assert.equal(removed.status, 204, removed.text);
      expectProblem(await admin.call('GET', `/api/v1/notify/webhooks/${endpoint.id}`), 404, 'webhook_not_found');
    });

    test('a failing receiver is retried with the same webhook-id until it accepts', async () => {
      receiver.script('/flaky', [500, 503, 200]);
      const flaky = await createEndpoint('/flaky');
      const id = await emitTo(flaky, { n: 1 });
      const done = await delivery(id, ['sent']);
      assert.deepEqual(done.attempts.map((a) => [a.outcome, a.status_code]),
        [['retry', 500], ['retry', 503], ['sent', 200]]);
      assert.equal(done.attempts[0].response_excerpt, 'refused with 500');
      const ids = new Set(receiver.at('/flaky').map((r) => r.headers['webhook-id']));
      assert.equal(ids.size, 1);
      // A receiver that never accepts: given up after the bounded attempts.
      receiver.script('/down', [500]);
      const down = await createEndpoint('/down');
      const lost = await emitTo(down, { n: 2 });
      const failed = await delivery(lost, ['failed']);
      assert.equal(failed.attempts.length, 4);
      assert.ok(failed.attempts.every((a) => a.outcome === 'retry' && a.status_code === 500));
      assert.equal((await admin.call('DELETE', `/api/v1/notify/webhooks/${down.id}`)).status, 204);
    });

    test('410 Gone disables the endpoint (audited) and no later event is queued for it', async () => {
      receiver.script('/gone', [410]);
      const endpoint = await createEndpoint('/gone');
      const id = await emitTo(endpoint, { n: 3 });
      const done = await delivery(id, ['rejected']);
      assert.deepEqual(done.attempts.map((a) => [a.outcome, a.status_code]), [['gone', 410]]);
      const shown = await admin.call('GET', `/api/v1/notify/webhooks/${endpoint.id}`);
      assert.equal(shown.body.enabled, false);
      assert.match(shown.body.disabled_reason, /410/);
      const history = await admin.call('GET', `/api/v1/audit/webhook_endpoint/${endpoint.id}`);
      assert.equal(history.status, 200, history.text);
      const disabled = history.body.entries.find((e) => e.action === 'notify.webhook.disable');
      assert.equal(disabled.actor_type, 'system');
      assert.equal(disabled.after.enabled, false);
      assert.ok(history.body.entries.some((e) => e.action === 'notify.webhook.create'));
      const before = receiver.at('/gone').length;
      await emit({ n: 4 });
      const log = await admin.call('GET', `/api/v1/notify/webhooks/${endpoint.id}/deliveries`);
      assert.equal(log.body.items.length, 1, 'nothing new queued for a disabled endpoint');
      assert.equal(receiver.at('/gone').length, before);
      expectProblem(await admin.call('POST', `/api/v1/notify/webhook-deliveries/${id}/replay`), 409, 'webhook_disabled');
      // Enabled again by staff (the receiver was fixed): the reason is cleared.
      receiver.script('/gone', [200]);
      const enabled = await admin.call('PUT', `/api/v1/notify/webhooks/${endpoint.id}`,
        { url: receiver.url + '/gone', event_types: ['diagnostics.ping'], enabled: true });
      assert.equal(enabled.status, 200, enabled.text);
      assert.equal(enabled.body.disabled_reason, null);
    });

    test('replay sends the same payload and webhook-id again, pointing to the original', async () => {
      const endpoint = await createEndpoint('/replay');
      const id = await emitTo(endpoint, { n: 5 });
      await delivery(id, ['sent']);
      const replay = await admin.call('POST', `/api/v1/notify/webhook-deliveries/${id}/replay`);
      assert.equal(replay.status, 201, replay.text);
      assert.equal(replay.body.replay_of, id);
      await delivery(replay.body.message_id, ['sent']);
      const [first, second] = receiver.at('/replay');
      assert.equal(second.body, first.body);
      assert.equal(second.headers['webhook-id'], first.headers['webhook-id']);
      assert.deepEqual(signaturesValid(endpoint.secret, second.headers, second.body), [true]);
      expectProblem(await admin.call('POST', '/api/v1/notify/webhook-deliveries/999999/replay'), 404,
        'webhook_delivery_not_found');
    });

    test('after a rotation both secrets sign for a day; the new one is shown once', async () => {
      const endpoint = await createEndpoint('/rotate');
      const rotated = await admin.call('POST', `/api/v1/notify/webhooks/${endpoint.id}/rotate-secret`);
      assert.equal(rotated.status, 200, rotated.text);
      assert.notEqual(rotated.body.secret, endpoint.secret);
      const id = await emitTo(endpoint, { n: 6 });
      await delivery(id, ['sent']);
      const [got] = receiver.at('/rotate');
      assert.deepEqual(signaturesValid(rotated.body.secret, got.headers, got.body), [true, false]);
      assert.deepEqual(signaturesValid(endpoint.secret, got.headers, got.body), [false, true]);
    });

    test('web push: VAPID key, subscription, encrypted payload the simulator decrypts; 410 removes it', async () => {
      const key = await admin.call('GET', '/api/v1/notify/push/vapid-public-key');
      assert.equal(key.status, 200);
      assert.equal(Buffer.from(key.body.public_key, 'base64url').length, 65);
      const subscription = push.subscribe();
      const bad = await admin.call('POST', '/api/v1/notify/push/subscriptions',
        { ...subscription, keys: { p256dh: 'AAAA', auth: 'short' } });
      assert.deepEqual(expectProblem(bad, 422, 'validation_failed').errors.map((e) => e.pointer).sort(),
        ['/keys/auth', '/keys/p256dh']);
      const saved = await admin.call('POST', '/api/v1/notify/push/subscriptions', subscription);
      assert.equal(saved.status, 201, saved.text);
      const mine = await admin.call('GET', '/api/v1/notify/push/subscriptions');
      assert.deepEqual(mine.body.items.map((s) => s.endpoint), [subscription.endpoint]);

      const queued = await postJson(server, '/api/v1/diagnostics/messages', {
        channel: 'push', recipient: subscription.endpoint, template_code: 'wallet.low_balance',
        organisation_id: cityId, language: 'fr',
        variables: { display_name: 'Sylvie', balance_cents: 320, threshold_cents: 500 },
      });
      assert.equal(queued.status, 201, queued.text);
      const got = await pollUntil(() => push.received()[0], { timeoutMs: 20000, what: 'a push message' });
      assert.deepEqual(push.refused(), []);
      const payload = JSON.parse(got.text);
      // Composed from the organisation's template (notify-content), then encrypted for the device.
      assert.match(payload.title, /^Solde bas : 3,20\s€$/);
      assert.match(payload.body, /^Bonjour Sylvie,\n\nVotre solde \(3,20\s€\) est passé sous 5,00\s€\.\n$/);
      assert.equal(payload.message_id, queued.body.id);
      assert.equal(got.vapid.k, key.body.public_key);
      assert.equal(got.vapid.claims.aud, push.origin);
      assert.equal(got.urgency, 'normal');
      assert.ok(got.ttl > 0);

      push.expire(subscription.endpoint);
      const again = await postJson(server, '/api/v1/diagnostics/messages', {
        channel: 'push', recipient: subscription.endpoint, template_code: 'diagnostics.push',
        organisation_id: cityId, variables: { subject: 'Encore', text: 'x' },
      });
      await pollUntil(async () => {
        const m = await admin.call('GET', `/api/v1/notify/messages/${again.body.id}`);
        return m.body.state === 'rejected' ? m.body : null;
      }, { timeoutMs: 20000, what: 'the push to an expired subscription rejected' });
      const left = await admin.call('GET', '/api/v1/notify/push/subscriptions');
      assert.deepEqual(left.body.items, []);
      expectProblem(await admin.call('POST', '/api/v1/notify/push/unsubscribe', { endpoint: subscription.endpoint }),
        404, 'push_subscription_not_found');
    });
  });
}
