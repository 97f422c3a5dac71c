// OpenID Connect login for staff, against a real provider: the LemonLDAP::NG portal that
// tests/support/oidc/start-provider runs on 127.0.0.1. The whole flow as a browser makes it
// (Guichet → provider's login form → Guichet's callback → a working session), and the
// refusals: an identity without a staff account, a tampered or replayed state, a missing or
// foreign state cookie, unsafe `next`, the provider's own refusal. Skipped, saying so, only when
// the provider's packages are missing (scripts/install-deps installs them).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, startServer } from '../support/server.mjs';
import {
  Jar, browse, freePort, providerSkipReason, signInAtProvider, startProvider,
} from '../support/oidc/provider.mjs';
import { request } from './lib.mjs';
import { Client, totp } from './identity_client.mjs';

const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
const admin = 'syndicate.admin@demo.guichet.fr';
const skip = providerSkipReason();
if (skip) console.log(`# oidc: provider tests skipped: ${skip}`);

/** The oidc_error code of a redirect to the login page (or null). */
function loginPageError(response) {
  assert.equal(response.status, 302, `expected a redirect, got ${response.status}`);
  const location = new URL(response.headers.get('location'), 'http://x');
  assert.equal(location.pathname, '/login', `redirected to ${location}`);
  return location.searchParams.get('oidc_error');
}

describe('OpenID Connect login when it is not configured', () => {
  let server;
  before(async () => { server = await startServer({ backend: 'sqlite' }); });
  after(async () => { await server?.stop(); });

  test('the login page is told it is off, and starting one leads back to it', async () => {
    const config = await request(server, 'GET', '/api/v1/oidc');
    assert.equal(config.status, 200, config.text);
    assert.deepEqual(config.body, { enabled: false, display_name: 'OpenID Connect' });
    assert.equal(loginPageError(await browse(null, `${server.url}/api/v1/oidc/login`)), 'disabled');
    assert.equal(loginPageError(await browse(null, `${server.url}/api/v1/oidc/callback?code=x&state=y`)),
      'disabled');
  });
});

for (const backend of backends()) {
  describe(`OpenID Connect login (${backend})`, { skip }, () => {
    let provider; let server; let redirectUri; let adminClient; let dwhoId;
    const secrets = new Map();
    let startedAt;

    before(async () => {
      startedAt = Date.now();
      const port = await freePort();
      redirectUri = `http://127.0.0.1:${port}/api/v1/oidc/callback`;
      provider = startProvider([redirectUri]);
      server = await startServer({ backend, demo: true,
        env: { ...fastHashing, GUICHET_HTTP_PORT: String(port), ...provider.guichetEnv(redirectUri) } });
      adminClient = await new Client(server).loginFully(admin, secrets);
      const organisations = (await adminClient.call('GET', '/api/v1/organisations')).body.organisations;
      const city = organisations.find((org) => org.name === 'Ville de Vénissieux');
      // No password: this person only ever logs in through the provider.
      const created = await adminClient.call('POST', '/api/v1/staff', {
        email: provider.env.OIDC_EMAIL, display_name: 'Doctor Who', organisation_id: city.id,
        profiles: ['family.city_agent'] });
      assert.equal(created.status, 201, created.text);
      dwhoId = created.body.id;
    });
    after(async () => {
      await server?.stop();
      provider?.stop();
      console.log(`# oidc (${backend}): ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    });

    const guichet = (jar, path, init) => browse(jar, server.url + path, init);

    /** Guichet's start, then the provider as a person: returns the callback URL to follow. */
    async function throughProvider(jar, { user = 'dwho', password = user, next } = {}) {
      const query = next === undefined ? '' : `?next=${encodeURIComponent(next)}`;
      const start = await guichet(jar, `/api/v1/oidc/login${query}`);
      assert.equal(start.status, 302, `start: ${start.status} ${await start.text()}`);
      const authorizeUrl = start.headers.get('location');
      assert.ok(authorizeUrl.startsWith(provider.env.OIDC_ISSUER), authorizeUrl);
      const result = await signInAtProvider(jar, authorizeUrl, redirectUri, { user, password });
      assert.ok(result.callbackUrl, `the provider did not send back: ${JSON.stringify(result)}`);
      return { start, authorizeUrl, callbackUrl: result.callbackUrl };
    }

    /** An API client using the session cookie the jar received. */
    function sessionOf(jar) {
      const client = new Client(server);
      client.cookie = `guichet_session=${jar.get('guichet_session')}`;
      return client;
    }

    test('the login page is told the provider name', async () => {
      const config = await request(server, 'GET', '/api/v1/oidc');
      assert.deepEqual(config.body, { enabled: true, display_name: 'LemonLDAP::NG' });
    });

    test('dwho logs in through the provider and gets a working session as the staff account',
      async () => {
        const jar = new Jar();
        const { start, authorizeUrl, callbackUrl } = await throughProvider(jar, { next: '/staff?x=1' });
        const cookie = start.headers.getSetCookie().find((line) => line.startsWith('guichet_oidc='));
        assert.match(cookie, /HttpOnly/);
        assert.match(cookie, /SameSite=Lax/);
        assert.match(cookie, /Path=\/api\/v1\/oidc(;|$)/);
        assert.match(cookie, /Max-Age=600/);
        const asked = new URL(authorizeUrl).searchParams;
        assert.equal(asked.get('response_type'), 'code');
        assert.equal(asked.get('client_id'), 'guichet');
        assert.equal(asked.get('redirect_uri'), redirectUri);
        assert.equal(asked.get('scope'), 'openid email profile');
        assert.equal(asked.get('code_challenge_method'), 'S256');
        assert.match(asked.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
        assert.match(asked.get('state'), /^[A-Za-z0-9_-]{43}$/);
        assert.match(asked.get('nonce'), /^[A-Za-z0-9_-]{43}$/);

        const back = await browse(jar, callbackUrl);
        assert.equal(back.status, 302, await back.text());
        assert.equal(back.headers.get('location'), '/login?oidc=1&next=%2Fstaff%3Fx%3D1');
        const session = back.headers.getSetCookie().find((line) => line.startsWith('guichet_session='));
        assert.match(session, /HttpOnly/);
        assert.match(session, /SameSite=Strict/);
        assert.equal(jar.get('guichet_oidc'), undefined, 'the state cookie is spent');
        const dwho = sessionOf(jar);
        const me = await dwho.call('GET', '/api/v1/me');
        assert.equal(me.status, 200, me.text);
        assert.equal(me.body.id, dwhoId);
        assert.equal(me.body.email, 'dwho@badwolf.org');

        // Entries about one's own account are one's own to read (no organisation attached).
        const history = await dwho.call('GET', `/api/v1/audit/user/${dwhoId}`);
        const actions = history.body.entries.map((entry) => entry.action);
        assert.ok(actions.includes('identity.user.oidc_linked'), actions.join(', '));
        const login = history.body.entries.find((entry) => entry.action === 'identity.user.oidc_login');
        assert.equal(login.after.subject, 'dwho');
        assert.equal(login.actor_id, dwhoId);
      });

    test('an identity without a staff account is refused: no account is ever created', async () => {
      const jar = new Jar();
      const { callbackUrl } = await throughProvider(jar, { user: 'rtyler' });
      const back = await browse(jar, callbackUrl);
      assert.equal(loginPageError(back), 'no_account');
      assert.equal(jar.get('guichet_session'), undefined);
      const staff = (await adminClient.call('GET', '/api/v1/staff')).body.staff;
      assert.ok(!staff.some((person) => person.email === 'rtyler@badwolf.org'));
    });

    test('a tampered state is refused, and does not spend the real one', async () => {
      const jar = new Jar();
      const { callbackUrl } = await throughProvider(jar);
      const tampered = new URL(callbackUrl);
      const state = tampered.searchParams.get('state');
      tampered.searchParams.set('state', (state[0] === 'A' ? 'B' : 'A') + state.slice(1));
      assert.equal(loginPageError(await browse(jar, tampered.toString())), 'state_invalid');
      assert.equal(jar.get('guichet_session'), undefined);
      const genuine = await browse(jar, callbackUrl);
      assert.match(genuine.headers.get('location'), /^\/login\?oidc=1/);
    });

    test('a callback without the state cookie, or with another browser\'s, is refused', async () => {
      const jar = new Jar();
      const { callbackUrl } = await throughProvider(jar);
      const cookie = jar.get('guichet_oidc');
      jar.cookies.delete('guichet_oidc');
      assert.equal(loginPageError(await browse(jar, callbackUrl)), 'state_missing');
      // Another browser that started a login of its own: its cookie does not fit this state.
      const other = new Jar();
      assert.equal((await guichet(other, '/api/v1/oidc/login')).status, 302);
      assert.equal(loginPageError(await browse(other, callbackUrl)), 'state_mismatch');
      jar.cookies.set('guichet_oidc', { value: cookie, path: '/api/v1/oidc' });
      assert.match((await browse(jar, callbackUrl)).headers.get('location'), /^\/login\?oidc=1/);
    });

    test('a callback is single use: replaying it is refused', async () => {
      const jar = new Jar();
      const { callbackUrl } = await throughProvider(jar);
      const cookie = jar.get('guichet_oidc');
      assert.match((await browse(jar, callbackUrl)).headers.get('location'), /^\/login\?oidc=1/);
      assert.equal(loginPageError(await browse(jar, callbackUrl)), 'state_missing');
      const replayer = new Jar();
      replayer.cookies.set('guichet_oidc', { value: cookie, path: '/api/v1/oidc' });
      assert.equal(loginPageError(await browse(replayer, callbackUrl)), 'state_used');
      assert.equal(replayer.get('guichet_session'), undefined);
    });

    test('the provider\'s refusal, a callback without parameters and unsafe next are refused',
      async () => {
        const jar = new Jar();
        const start = await guichet(jar, '/api/v1/oidc/login');
        const state = new URL(start.headers.get('location')).searchParams.get('state');
        assert.equal(loginPageError(await guichet(jar,
          `/api/v1/oidc/callback?error=access_denied&state=${state}`)), 'provider_error');
        assert.equal(loginPageError(await guichet(jar, '/api/v1/oidc/callback')), 'invalid_request');
        for (const next of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', 'staff']) {
          const r = await guichet(new Jar(), `/api/v1/oidc/login?next=${encodeURIComponent(next)}`);
          assert.equal(loginPageError(r), 'invalid_next', next);
          assert.ok(!r.headers.getSetCookie().some((line) => line.startsWith('guichet_oidc=')));
        }
      });

    test('with an authenticator app, the provider login still waits for the code', async () => {
      const jar = new Jar();
      await browse(jar, (await throughProvider(jar)).callbackUrl);
      const first = sessionOf(jar);
      assert.equal((await first.call('GET', '/api/v1/session')).status, 200);
      const enrol = await first.call('POST', '/api/v1/me/second-factor', {});
      assert.equal(enrol.status, 200, enrol.text);
      const confirm = await first.call('POST', '/api/v1/me/second-factor/confirm',
        { code: totp(enrol.body.secret) });
      assert.equal(confirm.status, 200, confirm.text);

      // The provider's SSO session makes this one silent; Guichet still asks for the code.
      const back = await browse(jar, (await throughProvider(jar, { next: '/account' })).callbackUrl);
      assert.equal(back.headers.get('location'), '/login?oidc=1&second_factor=1&next=%2Faccount');
      assert.equal((await first.call('GET', '/api/v1/me')).status, 401, 'the earlier session ended');
      const pending = sessionOf(jar);
      const me = await pending.call('GET', '/api/v1/me');
      assert.equal(me.status, 401);
      assert.equal(me.body.code, 'second_factor_required');
      const session = await pending.call('GET', '/api/v1/session');
      assert.equal(session.body.second_factor_pending, true);
      const code = await pending.call('POST', '/api/v1/session/second-factor',
        { code: totp(enrol.body.secret, Date.now(), 1) });
      assert.equal(code.status, 200, code.text);
      assert.equal((await pending.call('GET', '/api/v1/me')).body.id, dwhoId);
    });
  });
}
