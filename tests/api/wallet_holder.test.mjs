// The holder's journey over HTTP (W2, W3 subset): the activation link sets a password and logs
// in (once), login by e-mail and password, balances, counters and the statement, opposing one's
// own support or account; deactivation for good erases personal data and keeps the support
// numbers. And the refusals: weak password, used link, wrong password, missing CSRF token,
// staff on holder routes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, startServer } from '../support/server.mjs';
import { expectProblem, request } from './lib.mjs';
import { Client, demoPassword } from './identity_client.mjs';
import { HolderClient, activationTokens, newHolder, sql } from './wallet_support.mjs';

const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
const goodPassword = 'Chartreuse-Belledonne-Isère-1968';

for (const backend of backends()) {
  describe(`wallet holders (${backend})`, () => {
    let server; const secrets = new Map();
    let manager; let grenoble;
    before(async () => {
      server = await startServer({ backend, demo: true, env: fastHashing });
      manager = await new Client(server).loginFully('manager@demo.guichet.fr', secrets);
      const orgs = (await manager.call('GET', '/api/v1/organisations')).body.organisations;
      grenoble = orgs.find((o) => o.name === 'Crous Grenoble Alpes');
    });
    after(async () => { await server?.stop(); });

    test('activation sets a password and logs in; the link works once', async () => {
      const body = newHolder(grenoble.id);
      const created = (await manager.call('POST', '/api/v1/wallet/holders', body)).body;
      const [token] = activationTokens(server, body.email);
      const holder = new HolderClient(server);
      const weak = await holder.call('POST', '/api/v1/wallet/activation', { token, password: 'jeanne2004' });
      assert.equal(weak.status, 422, weak.text);
      assert.equal(weak.body.code, 'weak_password');
      const activated = await holder.call('POST', '/api/v1/wallet/activation', { token, password: goodPassword });
      assert.equal(activated.status, 200, activated.text);
      assert.equal(activated.body.holder.state, 'active');
      assert.match(activated.headers.get('set-cookie'), /guichet_holder=[^;]+; Path=\/; HttpOnly; SameSite=Strict/);
      const me = await holder.call('GET', '/api/v1/wallet/me');
      assert.equal(me.status, 200, me.text);
      assert.equal(me.body.id, created.id);
      // A reloaded page reads its session back, with the same CSRF token as the login's.
      const session = await holder.call('GET', '/api/v1/wallet/holder-session');
      assert.equal(session.status, 200, session.text);
      assert.equal(session.body.holder.id, created.id);
      assert.equal(session.body.csrf_token, activated.body.csrf_token);
      // Without a holder session the answer is 200 with null, so a page can ask quietly.
      const nobody = await new HolderClient(server).call('GET', '/api/v1/wallet/holder-session');
      assert.equal(nobody.status, 200, nobody.text);
      assert.deepEqual(nobody.body, { holder: null, csrf_token: null });
      const staff = await manager.call('GET', '/api/v1/wallet/holder-session');
      assert.equal(staff.status, 200, staff.text);
      assert.equal(staff.body.holder, null);
      expectProblem(await new HolderClient(server).call('POST', '/api/v1/wallet/activation', { token, password: goodPassword }),
        404, 'activation_link_invalid');
      expectProblem(await manager.call('POST', `/api/v1/wallet/holders/${created.id}/activation-message`, {}),
        409, 'holder_already_activated');

      const out = await holder.call('DELETE', '/api/v1/wallet/holder-session');
      assert.equal(out.status, 204, out.text);
      expectProblem(await holder.call('GET', '/api/v1/wallet/me'), 401, 'unauthenticated');
      expectProblem(await holder.call('POST', '/api/v1/wallet/holder-session', { email: body.email, password: 'wrong-password-1' }),
        401, 'login_failed');
      expectProblem(await holder.call('POST', '/api/v1/wallet/holder-session', { email: 'nobody@example.org', password: goodPassword }),
        401, 'login_failed');
      const login = await holder.call('POST', '/api/v1/wallet/holder-session', { email: body.email.toUpperCase(), password: goodPassword });
      assert.equal(login.status, 200, login.text);
      assert.equal((await holder.call('GET', '/api/v1/wallet/me')).status, 200);
    });

    test('a holder sees balances, counters and a bank-like statement, filtered and paginated', async () => {
      const holder = new HolderClient(server);
      const login = await holder.call('POST', '/api/v1/wallet/holder-session',
        { email: 'camille.martin@etu.demo.guichet.fr', password: demoPassword });
      assert.equal(login.status, 200, login.text);
      const accounts = (await holder.call('GET', '/api/v1/wallet/me/accounts')).body.accounts;
      assert.deepEqual(accounts.map((a) => [a.counter.code, a.balance, a.counter.token_name]),
        [['EUR', 2670, 'euro'], ['MEAL', 9, 'repas']]);
      assert.match(accounts[1].counter.information_fr, /repas/);
      const statement = await holder.call('GET', '/api/v1/wallet/me/statement');
      assert.equal(statement.status, 200, statement.text);
      assert.deepEqual(statement.body.lines.map((l) => [l.counter, l.direction, l.amount, l.balance_after, l.mode]), [
        ['MEAL', 'debit', 1, 9, 'support'], ['EUR', 'debit', 330, 2670, 'support'],
        ['MEAL', 'credit', 10, 10, 'api'], ['EUR', 'credit', 3000, 3000, 'card']]);
      const meals = (await holder.call('GET', '/api/v1/wallet/me/statement?counter=MEAL')).body.lines;
      assert.deepEqual(meals.map((l) => l.amount), [1, 10]);
      const reloads = (await holder.call('GET', '/api/v1/wallet/me/statement?kind=reload.card')).body.lines;
      assert.deepEqual(reloads.map((l) => l.label), ['Recharge CB']);
      const first = (await holder.call('GET', '/api/v1/wallet/me/statement?limit=3')).body;
      assert.equal(first.lines.length, 3);
      const rest = (await holder.call('GET', `/api/v1/wallet/me/statement?limit=3&before=${first.next_before}`)).body;
      assert.deepEqual(rest.lines.map((l) => l.amount), [3000]);
      const future = (await holder.call('GET', `/api/v1/wallet/me/statement?from_ms=${Date.now() + 3600000}`)).body;
      assert.deepEqual(future.lines, []);
      expectProblem(await holder.call('GET', '/api/v1/wallet/me/statement?limit=zero'), 400, 'invalid_parameter');
      const exported = await holder.call('GET', '/api/v1/wallet/me/export');
      assert.equal(exported.status, 200, exported.text);
      assert.match(exported.headers.get('content-disposition'), /attachment; filename="guichet-wallet-\d+\.json"/);
      assert.equal(exported.body.profile.email, 'camille.martin@etu.demo.guichet.fr');
      assert.deepEqual(exported.body.balances, [{ counter: 'EUR', balance: 2670 }, { counter: 'MEAL', balance: 9 }]);
      assert.equal(exported.body.statement.length, 4);
      assert.ok(!exported.text.includes('argon2'), 'no password hash in the export');
    });

    test('a holder opposes a support or the whole account; CSRF and staff are refused', async () => {
      const body = newHolder(grenoble.id);
      const created = (await manager.call('POST', '/api/v1/wallet/holders', body)).body;
      const holder = new HolderClient(server);
      await holder.call('POST', '/api/v1/wallet/activation', { token: activationTokens(server, body.email)[0], password: goodPassword });
      const support = created.supports[0];
      expectProblem(await holder.call('POST', `/api/v1/wallet/me/supports/${support.id}/opposition`, { kind: 'temporary' }, { csrf: false }),
        403, 'csrf_token_invalid');
      const opposed = await holder.call('POST', `/api/v1/wallet/me/supports/${support.id}/opposition`, { kind: 'temporary' });
      assert.equal(opposed.status, 200, opposed.text);
      assert.equal(opposed.body.opposition, 'temporary');
      const someoneElses = (await manager.call('GET', '/api/v1/wallet/holders?university_id=UGA-20231002')).body.holders[0].supports[0];
      expectProblem(await holder.call('POST', `/api/v1/wallet/me/supports/${someoneElses.id}/opposition`, { kind: 'temporary' }),
        404, 'support_not_found');
      const blocked = await holder.call('POST', '/api/v1/wallet/me/opposition', { kind: 'temporary' });
      assert.equal(blocked.status, 200, blocked.text);
      assert.equal((await manager.call('GET', `/api/v1/wallet/holders/${created.id}`)).body.opposition, 'temporary');
      const audit = (await manager.call('GET', `/api/v1/audit/wallet_holder/${created.id}`)).body.entries;
      assert.equal(audit[0].action, 'wallet.holder.oppose');

      expectProblem(await manager.call('GET', '/api/v1/wallet/me'), 403, 'holder_only');
      expectProblem(await request(server, 'GET', '/api/v1/wallet/me/accounts'), 401, 'unauthenticated');
    });

    test('closure needs a zero balance and tells the institution; federation takes over an older account', async () => {
      const camille = new HolderClient(server);
      await camille.call('POST', '/api/v1/wallet/holder-session', { email: 'camille.martin@etu.demo.guichet.fr', password: demoPassword });
      expectProblem(await camille.call('POST', '/api/v1/wallet/me/closure', {}), 409, 'balance_not_zero');

      async function activeHolder() {
        const body = newHolder(grenoble.id);
        const created = (await manager.call('POST', '/api/v1/wallet/holders', body)).body;
        const client = new HolderClient(server);
        const r = await client.call('POST', '/api/v1/wallet/activation', { token: activationTokens(server, body.email)[0], password: goodPassword });
        assert.equal(r.status, 200, r.text);
        return { body, created, client };
      }
      const leaving = await activeHolder();
      const closed = await leaving.client.call('POST', '/api/v1/wallet/me/closure', {});
      assert.equal(closed.status, 200, closed.text);
      assert.equal(closed.body.state, 'closed');
      expectProblem(await leaving.client.call('GET', '/api/v1/wallet/me'), 401, 'unauthenticated');
      const notices = sql(server, `SELECT recipient FROM outbox_messages WHERE template_code = 'wallet.closure_institution'
        AND variables LIKE '%"holder_id":${leaving.created.id},%'`).map((row) => row[0]);
      assert.ok(notices.includes('regional.admin@demo.guichet.fr'), JSON.stringify(notices));
      assert.equal(sql(server, `SELECT count(*) FROM outbox_messages WHERE template_code = 'wallet.closure' AND recipient = '${leaving.body.email}'`)[0][0], '1');

      const older = await activeHolder();
      const newer = await activeHolder();
      expectProblem(await newer.client.call('POST', '/api/v1/wallet/me/federation', { email: older.body.email, password: 'Wrong-password-123' }),
        401, 'old_account_login_failed');
      const federated = await newer.client.call('POST', '/api/v1/wallet/me/federation', { email: older.body.email, password: goodPassword });
      assert.equal(federated.status, 200, federated.text);
      assert.deepEqual(federated.body, { old_account_id: older.created.id, euros_moved: 0, tokens_not_moved: [] });
      const seen = (await manager.call('GET', `/api/v1/wallet/holders/${older.created.id}`)).body;
      assert.equal(seen.state, 'federated');
      assert.equal(seen.federated_into, newer.created.id);
      assert.ok(seen.federated_at_ms > 0);
    });

    test('deactivation for good erases personal data and keeps the support numbers', async () => {
      const body = newHolder(grenoble.id);
      const created = (await manager.call('POST', '/api/v1/wallet/holders', body)).body;
      const [token] = activationTokens(server, body.email);
      const gone = await request(server, 'POST', '/api/v1/wallet/deactivation', { json: { token } });
      assert.equal(gone.status, 204, gone.text);
      const seen = (await manager.call('GET', `/api/v1/wallet/holders/${created.id}`)).body;
      assert.equal(seen.state, 'deactivated');
      for (const field of ['last_name', 'first_name', 'email', 'birth_date', 'phone', 'university_id', 'ine']) {
        assert.equal(seen[field], null, field);
      }
      assert.deepEqual(seen.supports.map((s) => [s.number, s.opposition]), [[body.supports[0].number, 'permanent']]);
      const audit = (await manager.call('GET', `/api/v1/audit/wallet_holder/${created.id}`)).body.entries;
      assert.ok(!JSON.stringify(audit).includes(body.email), 'the audit trail no longer holds the e-mail');
      assert.equal(sql(server, `SELECT count(*) FROM wallet_holders WHERE email = '${body.email}'`)[0][0], '0');
      expectProblem(await request(server, 'POST', '/api/v1/wallet/deactivation', { json: { token } }), 404, 'activation_link_invalid');
      expectProblem(await request(server, 'POST', '/api/v1/wallet/activation', { json: { token: 'x'.repeat(43), password: goodPassword } }),
        404, 'activation_link_invalid');
    });
  });
}
