// Identity over HTTP: login, second factor, sessions and the attacks that must fail —
// password guessing past the throttle, cross-site requests, session fixation, acting outside
// one's subtree, granting more than one holds.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, startServer } from '../support/server.mjs';
import { expectProblem, request } from './lib.mjs';
import { Client, demoPassword, totp } from './identity_client.mjs';

const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };

for (const backend of backends()) {
  describe(`identity (${backend})`, () => {
    let server; const secrets = new Map();
    before(async () => {
      server = await startServer({ backend, demo: true, env: { ...fastHashing, GUICHET_LOGIN_FAILURES_MAX: '3' } });
    });
    after(async () => { await server?.stop(); });

    test('login sets an HttpOnly, SameSite=Strict session cookie and returns a CSRF token', async () => {
      const client = new Client(server);
      const r = await client.login('city.agent@demo.guichet.fr');
      assert.equal(r.status, 200, r.text);
      const cookie = r.headers.get('set-cookie');
      assert.match(cookie, /guichet_session=[A-Za-z0-9_-]{40,};/);
      assert.match(cookie, /HttpOnly/);
      assert.match(cookie, /SameSite=Strict/);
      assert.match(cookie, /Secure/);
      assert.equal(typeof r.body.csrf_token, 'string');
      assert.equal(r.body.user.email, 'city.agent@demo.guichet.fr');
      assert.equal((await client.call('GET', '/api/v1/me')).status, 200);
    });

    test('a wrong password and an unknown account get the same answer', async () => {
      const wrong = await new Client(server).login('regisseur@demo.guichet.fr', 'not the password at all');
      const unknown = await new Client(server).login('nobody@demo.guichet.fr', 'not the password at all');
      expectProblem(wrong, 401, 'invalid_credentials');
      expectProblem(unknown, 401, 'invalid_credentials');
      assert.equal(wrong.body.detail, unknown.body.detail);
    });

    test('password guessing stops at the throttle, even with the right password afterwards', async () => {
      const email = 'school.agent@demo.guichet.fr';
      for (let i = 0; i < 3; i += 1) expectProblem(await new Client(server).login(email, `guess-${i}-xxxxxx`), 401, 'invalid_credentials');
      expectProblem(await new Client(server).login(email, 'another-guess-xx'), 429, 'account_locked');
      expectProblem(await new Client(server).login(email, demoPassword), 429, 'account_locked');
    });

    test('a state-changing request without the CSRF token is refused', async () => {
      const client = new Client(server);
      await client.login('syndicate.admin@demo.guichet.fr');
      const r = await client.call('POST', '/api/v1/session/logout-everywhere', {}, { csrf: false });
      expectProblem(r, 403, 'csrf_token_invalid');
      const forged = await client.call('POST', '/api/v1/session/logout-everywhere', {},
        { csrf: false, headers: { 'x-csrf-token': 'forged' } });
      expectProblem(forged, 403, 'csrf_token_invalid');
      assert.equal((await client.call('GET', '/api/v1/me')).status, 200, 'the session survived');
    });

    test('a request from another origin is refused even with a valid token', async () => {
      const client = new Client(server);
      await client.login('syndicate.admin@demo.guichet.fr');
      const r = await client.call('PUT', '/api/v1/me/password', { current_password: demoPassword, new_password: 'x' },
        { headers: { origin: 'https://evil.example' } });
      expectProblem(r, 403, 'cross_origin_refused');
      const login = await request(server, 'POST', '/api/v1/session', {
        json: { email: 'regisseur@demo.guichet.fr', password: demoPassword }, headers: { origin: 'https://evil.example' } });
      expectProblem(login, 403, 'cross_origin_refused');
    });

    test('session fixation: a planted session id is never adopted', async () => {
      const client = new Client(server);
      client.cookie = 'guichet_session=planted-by-the-attacker-0123456789abcdefghijklmnop';
      expectProblem(await client.call('GET', '/api/v1/me'), 401, 'unauthenticated');
      const r = await client.login('regisseur@demo.guichet.fr');
      assert.equal(r.status, 200, r.text);
      assert.ok(!client.cookie.includes('planted-by-the-attacker'), 'the server issued its own id');
      const attacker = new Client(server);
      attacker.cookie = 'guichet_session=planted-by-the-attacker-0123456789abcdefghijklmnop';
      expectProblem(await attacker.call('GET', '/api/v1/me'), 401, 'unauthenticated');
    });

    test('logout everywhere ends the other sessions too', async () => {
      const phone = new Client(server); const desk = new Client(server);
      await phone.login('partner@demo.guichet.fr');
      await desk.login('partner@demo.guichet.fr');
      assert.equal((await desk.call('POST', '/api/v1/session/logout-everywhere', {})).status, 204);
      expectProblem(await phone.call('GET', '/api/v1/me'), 401, 'unauthenticated');
      expectProblem(await desk.call('GET', '/api/v1/me'), 401, 'unauthenticated');
    });

    test('strong profiles act only after the second factor, which then guards every login', async () => {
      const email = 'manager@demo.guichet.fr';
      const client = new Client(server);
      const first = await client.login(email);
      assert.equal(first.body.second_factor_enrolment_required, true);
      expectProblem(await client.call('GET', '/api/v1/organisations'), 403, 'forbidden');
      const start = await client.call('POST', '/api/v1/me/second-factor', {});
      assert.equal(start.status, 200, start.text);
      assert.match(start.body.otpauth_uri, /^otpauth:\/\/totp\//);
      assert.match(start.body.qr_svg, /^<svg/);
      expectProblem(await client.call('POST', '/api/v1/me/second-factor/confirm', { code: '000000' }), 422, 'validation_failed');
      const confirm = await client.call('POST', '/api/v1/me/second-factor/confirm', { code: totp(start.body.secret) });
      assert.equal(confirm.status, 200, confirm.text);
      assert.equal(confirm.body.recovery_codes.length, 10);
      assert.equal((await client.call('GET', '/api/v1/organisations')).status, 200);

      const again = new Client(server);
      const login = await again.login(email);
      assert.equal(login.body.second_factor_pending, true);
      expectProblem(await again.call('GET', '/api/v1/me'), 401, 'second_factor_required');
      expectProblem(await again.call('POST', '/api/v1/session/second-factor', { code: '123456' }), 401, 'invalid_second_factor');
      const recovery = confirm.body.recovery_codes[0];
      assert.equal((await again.call('POST', '/api/v1/session/second-factor', { code: recovery })).status, 200);
      assert.equal((await again.call('GET', '/api/v1/organisations')).status, 200);
      const third = new Client(server);
      await third.login(email);
      expectProblem(await third.call('POST', '/api/v1/session/second-factor', { code: recovery }), 401, 'invalid_second_factor');
    });

    test('staff management stays inside one\'s subtree and never grants more than one holds', async () => {
      const regional = await new Client(server).loginFully('regional.admin@demo.guichet.fr', secrets);
      const national = await new Client(server).loginFully('national.admin@demo.guichet.fr', secrets);
      const orgs = (await national.call('GET', '/api/v1/organisations')).body.organisations;
      const grenoble = orgs.find((o) => o.name === 'Crous Grenoble Alpes');
      const lyon = orgs.find((o) => o.name === 'Crous Lyon');
      const cnous = orgs.find((o) => o.kind === 'national');
      const newcomer = { email: `agent.${backend}@demo.guichet.fr`, display_name: 'Nouvel Agent',
        organisation_id: grenoble.id, profiles: ['wallet.manager'] };
      const created = await regional.call('POST', '/api/v1/staff', newcomer);
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.must_change_password, false, 'invited: sets their own password by link');
      expectProblem(await regional.call('POST', '/api/v1/staff', { ...newcomer, email: 'x.' + newcomer.email,
        organisation_id: lyon.id }), 404, 'organisation_not_found');
      expectProblem(await regional.call('POST', `/api/v1/staff/${created.body.id}/grants`,
        { organisation_id: grenoble.id, profile: 'wallet.national_admin' }), 422, 'validation_failed');
      expectProblem(await regional.call('POST', `/api/v1/staff/${created.body.id}/grants`,
        { organisation_id: cnous.id, profile: 'wallet.manager' }), 404, 'organisation_not_found');
      const me = (await regional.call('GET', '/api/v1/me')).body;
      expectProblem(await regional.call('PATCH', `/api/v1/staff/${me.id}`, { status: 'suspended' }), 403, 'cannot_change_self');
      const nationalMe = (await national.call('GET', '/api/v1/me')).body;
      expectProblem(await regional.call('PATCH', `/api/v1/staff/${nationalMe.id}`, { status: 'suspended' }), 404, 'staff_not_found');
      const history = await national.call('GET', `/api/v1/audit/user/${created.body.id}`);
      assert.equal(history.status, 200, history.text);
      assert.equal(history.body.entries[0].action, 'identity.staff.create');
      assert.equal(history.body.entries[0].actor_id, me.id);
    });

    test('an account created with an initial password must change it before acting', async () => {
      const admin = await new Client(server).loginFully('syndicate.admin@demo.guichet.fr', secrets);
      const orgs = (await admin.call('GET', '/api/v1/organisations')).body.organisations;
      const city = orgs.find((o) => o.kind === 'city' && o.environment === 'production');
      const email = `first.login.${backend}@demo.guichet.fr`;
      expectProblem(await admin.call('POST', '/api/v1/staff', { email, display_name: 'Première Connexion',
        organisation_id: city.id, profiles: ['family.city_agent'], initial_password: 'password123' }), 422, 'weak_password');
      const created = await admin.call('POST', '/api/v1/staff', { email, display_name: 'Première Connexion',
        organisation_id: city.id, profiles: ['family.city_agent'], initial_password: 'Tilleul-Orage-Basalte-93' });
      assert.equal(created.status, 201, created.text);
      const agent = new Client(server);
      const login = await agent.login(email, 'Tilleul-Orage-Basalte-93');
      assert.equal(login.body.user.must_change_password, true);
      expectProblem(await agent.call('GET', '/api/v1/staff'), 403, 'password_change_required');
      expectProblem(await agent.call('PUT', '/api/v1/me/password', { current_password: 'Tilleul-Orage-Basalte-93',
        new_password: 'short' }), 422, 'weak_password');
      assert.equal((await agent.call('PUT', '/api/v1/me/password', { current_password: 'Tilleul-Orage-Basalte-93',
        new_password: 'Falaise-Ortie-Cobalt-58' })).status, 204);
      assert.equal((await agent.call('GET', '/api/v1/staff')).status, 200);
    });
  });
}
