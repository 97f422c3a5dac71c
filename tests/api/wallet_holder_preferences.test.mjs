// The holder's message preferences behind the holder session: the same preferences and consents
// as messages' own routes, for the person ("wallet.holder", id). Weekly by default; a holder
// sets daily alerts and a low-balance threshold; another holder sees only their own; a bad
// frequency is refused; alerts by e-mail stay mandatory; staff and anonymous callers are refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, startServer } from '../support/server.mjs';
import { expectProblem, expectValidation } from './lib.mjs';
import { Client } from './identity_client.mjs';
import { HolderClient, activationTokens, newHolder } from './wallet_support.mjs';

const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
const goodPassword = 'Chartreuse-Belledonne-Isère-1968';
const path = '/api/v1/wallet/me/message-preferences';

for (const backend of backends()) {
  describe(`wallet holder message preferences (${backend})`, () => {
    let server; const secrets = new Map();
    let manager; let grenoble;
    before(async () => {
      server = await startServer({ backend, demo: true, env: fastHashing });
      manager = await new Client(server).loginFully('manager@demo.guichet.fr', secrets);
      const orgs = (await manager.call('GET', '/api/v1/organisations')).body.organisations;
      grenoble = orgs.find((o) => o.name === 'Crous Grenoble Alpes');
    });
    after(async () => { await server?.stop(); });

    async function activatedHolder() {
      const body = newHolder(grenoble.id);
      const created = await manager.call('POST', '/api/v1/wallet/holders', body);
      assert.equal(created.status, 201, created.text);
      const [token] = activationTokens(server, body.email);
      const holder = new HolderClient(server);
      const activated = await holder.call('POST', '/api/v1/wallet/activation', { token, password: goodPassword });
      assert.equal(activated.status, 200, activated.text);
      return { holder, id: created.body.id };
    }

    test('a holder sets daily alerts and a threshold; another holder cannot read them', async () => {
      const first = await activatedHolder();
      const second = await activatedHolder();
      const initial = await first.holder.call('GET', path);
      assert.equal(initial.status, 200, initial.text);
      assert.deepEqual(initial.body.person, { type: 'wallet.holder', id: first.id });
      assert.equal(initial.body.alert_frequency, 'weekly');
      assert.equal(initial.body.low_balance_threshold_cents, null);

      const set = await first.holder.call('PUT', path, { alert_frequency: 'daily', low_balance_threshold_cents: 500 });
      assert.equal(set.status, 200, set.text);
      assert.equal(set.body.alert_frequency, 'daily');
      assert.equal(set.body.low_balance_threshold_cents, 500);
      const again = (await first.holder.call('GET', path)).body;
      assert.equal(again.alert_frequency, 'daily');
      assert.equal(again.low_balance_threshold_cents, 500);

      const other = (await second.holder.call('GET', path)).body;
      assert.deepEqual(other.person, { type: 'wallet.holder', id: second.id });
      assert.equal(other.alert_frequency, 'weekly');
      assert.equal(other.low_balance_threshold_cents, null);

      const cleared = await first.holder.call('PUT', path, { low_balance_threshold_cents: null });
      assert.equal(cleared.body.low_balance_threshold_cents, null);
      assert.equal(cleared.body.alert_frequency, 'daily');
    });

    test('bad input is refused as problem+json', async () => {
      const { holder } = await activatedHolder();
      expectValidation(await holder.call('PUT', path, { alert_frequency: 'hourly' }), ['/alert_frequency']);
      expectValidation(await holder.call('PUT', path, { low_balance_threshold_cents: -1 }), ['/low_balance_threshold_cents']);
      expectValidation(await holder.call('PUT', path, { colour: 'blue' }), ['/colour']);
      expectProblem(await holder.call('PUT', path, { alert_frequency: 'daily' }, { csrf: false }), 403, 'csrf_token_invalid');
      assert.equal((await holder.call('GET', path)).body.alert_frequency, 'weekly');
    });

    test('alerts stay mandatory by e-mail; SMS alerts need consent', async () => {
      const { holder } = await activatedHolder();
      const channels = (await holder.call('GET', path)).body.channels;
      const find = (list, purpose, channel) => list.find((c) => c.purpose === purpose && c.channel === channel);
      assert.deepEqual(find(channels, 'alerts', 'email'), { purpose: 'alerts', channel: 'email', mandatory: true, granted: true });
      assert.equal(find(channels, 'alerts', 'sms').granted, false);
      const wording = { wording: 'Recevoir les alertes par SMS (peut être facturé)', wording_version: 'wallet-1' };
      expectProblem(await holder.call('POST', '/api/v1/wallet/me/message-consents',
        { purpose: 'alerts', channel: 'email', granted: false, ...wording }), 409, 'consent_mandatory');
      expectValidation(await holder.call('POST', '/api/v1/wallet/me/message-consents',
        { purpose: 'spam', channel: 'fax', granted: true, ...wording }), ['/purpose', '/channel']);
      const sms = await holder.call('POST', '/api/v1/wallet/me/message-consents',
        { purpose: 'alerts', channel: 'sms', granted: true, ...wording });
      assert.equal(sms.status, 200, sms.text);
      assert.equal(find(sms.body.channels, 'alerts', 'sms').granted, true);
      assert.equal(find(sms.body.channels, 'alerts', 'email').granted, true);
    });

    test('staff and anonymous callers are refused', async () => {
      expectProblem(await manager.call('GET', path), 403, 'holder_only');
      expectProblem(await new HolderClient(server).call('GET', path), 401, 'unauthenticated');
    });
  });
}
