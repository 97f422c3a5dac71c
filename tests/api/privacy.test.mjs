// Personal data over HTTP: the public register of processing, one's consents and export, the
// export and erasure of a staff member by those who hold the right over them — and the
// refusals: anonymous 401, missing right 403, outside one's organisations 404, bad body 422.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backends, projectRoot, startServer } from '../support/server.mjs';
import { expectProblem, expectValidation, request } from './lib.mjs';
import { Client } from './identity_client.mjs';

const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
const wording = 'J\'accepte de recevoir par e-mail les alertes du service (retrait possible à tout moment).';

function consent(purpose, granted, version, channel = 'email') {
  return { purpose, channel, granted, wording, wording_version: version };
}

for (const backend of backends()) {
  describe(`privacy (${backend})`, () => {
    let server; const secrets = new Map();
    before(async () => {
      server = await startServer({ backend, demo: true, env: fastHashing });
    });
    after(async () => { await server?.stop(); });

    async function staffId(admin, email) {
      const list = await admin.call('GET', '/api/v1/staff');
      assert.equal(list.status, 200, list.text);
      const person = list.body.staff.find((p) => p.email === email);
      assert.ok(person, `${email} is listed`);
      return person.id;
    }

    test('the register of processing is public and names each processing', async () => {
      const r = await request(server, 'GET', '/api/v1/privacy/register');
      assert.equal(r.status, 200, r.text);
      const codes = r.body.activities.map((a) => a.code);
      for (const code of ['platform.staff_accounts', 'platform.authentication', 'platform.audit_trail',
        'platform.consents']) assert.ok(codes.includes(code), `${code} in ${codes}`);
      for (const activity of r.body.activities) {
        for (const field of ['name', 'purpose', 'legal_basis', 'retention', 'transfers']) {
          assert.ok(activity[field].length > 0, `${activity.code}.${field}`);
        }
        assert.ok(activity.data_categories.length > 0 && activity.data_subjects.length > 0, activity.code);
      }
      const document = await request(server, 'GET', '/api/openapi.json');
      assert.equal(document.body.paths['/api/v1/privacy/register'].get['x-guichet-right'] ?? '', '');
    });

    test('anonymous callers get 401 on every personal route', async () => {
      const anonymous = new Client(server);
      for (const [method, path, body] of [['GET', '/api/v1/me/consents'], ['POST', '/api/v1/me/consents', consent('alerts', true, 'v1')],
        ['GET', '/api/v1/me/export'], ['GET', '/api/v1/staff/1/export'], ['POST', '/api/v1/staff/1/erasure', { reason: 'x' }]]) {
        expectProblem(await anonymous.call(method, path, body), 401, 'unauthenticated');
      }
    });

    test('consents keep every choice with its wording; the latest decides; bad bodies get 422', async () => {
      const agent = await new Client(server).loginFully('city.agent@demo.guichet.fr', secrets);
      const granted = await agent.call('POST', '/api/v1/me/consents', consent('alerts', true, 'v1'));
      assert.equal(granted.status, 201, granted.text);
      assert.equal(granted.body.source, 'web');
      assert.equal(granted.body.wording, wording);
      assert.equal(granted.body.request_id, granted.headers.get('x-request-id'));
      assert.equal((await agent.call('POST', '/api/v1/me/consents', consent('newsletter', true, 'v1'))).status, 201);
      assert.equal((await agent.call('POST', '/api/v1/me/consents', consent('alerts', false, 'v2'))).status, 201);
      const mine = await agent.call('GET', '/api/v1/me/consents');
      assert.equal(mine.status, 200, mine.text);
      assert.deepEqual(mine.body.history.map((c) => [c.purpose, c.granted, c.wording_version]),
        [['alerts', false, 'v2'], ['newsletter', true, 'v1'], ['alerts', true, 'v1']]);
      assert.deepEqual(mine.body.current.map((c) => [c.purpose, c.channel, c.granted]),
        [['alerts', 'email', false], ['newsletter', 'email', true]]);
      assert.ok(mine.body.purposes.includes('surveys'));

      expectValidation(await agent.call('POST', '/api/v1/me/consents', {}),
        ['/purpose', '/channel', '/granted', '/wording', '/wording_version']);
      expectValidation(await agent.call('POST', '/api/v1/me/consents', consent('marketing', true, 'v1')), ['/purpose']);
      expectValidation(await agent.call('POST', '/api/v1/me/consents', consent('alerts', true, 'v1', 'fax')), ['/channel']);
      expectValidation(await agent.call('POST', '/api/v1/me/consents', { ...consent('alerts', true, 'v1'), granted: 'yes' }), ['/granted']);
      expectValidation(await agent.call('POST', '/api/v1/me/consents', { ...consent('alerts', true, 'v1'), source: 'counter' }), ['/source']);
      expectProblem(await agent.call('POST', '/api/v1/me/consents', consent('alerts', true, 'v3'), { csrf: false }), 403, 'csrf_token_invalid');
      assert.equal((await agent.call('GET', '/api/v1/me/consents')).body.history.length, 3, 'refused choices left no trace');
    });

    test('one\'s export holds every section, is a download, and never a secret', async () => {
      const client = await new Client(server).loginFully('regisseur@demo.guichet.fr', secrets);
      assert.equal((await client.call('POST', '/api/v1/me/consents', consent('surveys', true, 'v1'))).status, 201);
      const r = await client.call('GET', '/api/v1/me/export');
      assert.equal(r.status, 200, r.text);
      assert.match(r.headers.get('content-disposition'), /^attachment; filename="guichet-export-staff-\d+\.json"$/);
      assert.equal(r.body.format, 'guichet.export.v1');
      for (const section of ['account', 'grants', 'sessions', 'consents', 'audit', 'messages']) {
        assert.ok(section in r.body.sections, `section ${section}`);
      }
      const { account, grants, sessions, consents, audit } = r.body.sections;
      assert.equal(account.email, 'regisseur@demo.guichet.fr');
      assert.equal(grants.items[0].organisation_name, 'Ville de Vénissieux');
      assert.ok(sessions.items.some((s) => s.active));
      assert.equal(consents.current[0].purpose, 'surveys');
      assert.equal(audit.about_me.items.at(-1).action, 'identity.staff.bootstrap');
      const token = client.cookie.split('=')[1];
      for (const secret of [token, client.csrf, '$argon2', 'password_hash', 'totp_secret', 'token_hash']) {
        assert.ok(!r.text.includes(secret), `the export holds ${secret}`);
      }
    });

    test('a staff export: within one\'s organisations only, with the right', async () => {
      const admin = await new Client(server).loginFully('syndicate.admin@demo.guichet.fr', secrets);
      const schoolId = await staffId(admin, 'school.agent@demo.guichet.fr');
      const r = await admin.call('GET', `/api/v1/staff/${schoolId}/export`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.sections.account.email, 'school.agent@demo.guichet.fr');
      const national = await new Client(server).loginFully('national.admin@demo.guichet.fr', secrets);
      const merchantId = await staffId(national, 'merchant@demo.guichet.fr');
      expectProblem(await admin.call('GET', `/api/v1/staff/${merchantId}/export`), 404, 'staff_not_found');
      expectProblem(await admin.call('GET', '/api/v1/staff/abc/export'), 400, 'invalid_parameter');
      const agent = await new Client(server).loginFully('city.agent@demo.guichet.fr', secrets);
      expectProblem(await agent.call('GET', `/api/v1/staff/${schoolId}/export`), 403, 'forbidden');
      const history = await admin.call('GET', `/api/v1/audit/user/${schoolId}`);
      assert.equal(history.body.entries[0].action, 'privacy.export', 'the export is in the audit trail');
    });

    test('an API key never exports nor erases: refused when created, or when used', async () => {
      const admin = await new Client(server).loginFully('syndicate.admin@demo.guichet.fr', secrets);
      const orgs = (await admin.call('GET', '/api/v1/organisations')).body.organisations;
      const city = orgs.find((o) => o.kind === 'city' && o.environment === 'production');
      const schoolId = await staffId(admin, 'school.agent@demo.guichet.fr');
      const created = await admin.call('POST', '/api/v1/api-keys',
        { organisation_id: city.id, label: 'Outil RGPD', scopes: ['privacy.erase', 'privacy.export'] });
      if (created.status === 422) return;  // the scopes are people-only: refused up front
      assert.equal(created.status, 201, created.text);
      const headers = { authorization: `Bearer ${created.body.secret}` };
      expectProblem(await request(server, 'GET', `/api/v1/staff/${schoolId}/export`, { headers }), 403, 'people_only');
      expectProblem(await request(server, 'POST', `/api/v1/staff/${schoolId}/erasure`, { headers, json: { reason: 'x' } }),
        403, 'people_only');
      expectProblem(await request(server, 'GET', '/api/v1/me/export', { headers }), 403, 'people_only');
      assert.equal((await admin.call('GET', `/api/v1/staff/${schoolId}`)).status, 200, 'the account is untouched');
    });

    test('erasure: refusals first, then an anonymised account and a chain that still verifies', async () => {
      const admin = await new Client(server).loginFully('syndicate.admin@demo.guichet.fr', secrets);
      const orgs = (await admin.call('GET', '/api/v1/organisations')).body.organisations;
      const city = orgs.find((o) => o.kind === 'city' && o.environment === 'production');
      const email = `leaving.${backend}@demo.guichet.fr`;
      const created = await admin.call('POST', '/api/v1/staff', { email, display_name: 'Agent Partant',
        organisation_id: city.id, profiles: ['family.city_agent'], initial_password: 'Tilleul-Orage-Basalte-93' });
      assert.equal(created.status, 201, created.text);
      const id = created.body.id;
      const leaving = new Client(server);
      assert.equal((await leaving.login(email, 'Tilleul-Orage-Basalte-93')).status, 200);
      assert.equal((await leaving.call('POST', '/api/v1/me/consents', consent('alerts', true, 'v1'))).status, 201);

      const me = (await admin.call('GET', '/api/v1/me')).body;
      expectProblem(await admin.call('POST', `/api/v1/staff/${me.id}/erasure`, { reason: 'moi' }), 403, 'cannot_change_self');
      const national = await new Client(server).loginFully('national.admin@demo.guichet.fr', secrets);
      const merchantId = await staffId(national, 'merchant@demo.guichet.fr');
      expectProblem(await admin.call('POST', `/api/v1/staff/${merchantId}/erasure`, { reason: 'ailleurs' }), 404, 'staff_not_found');
      const passAdmin = await new Client(server).loginFully('pass.admin@demo.guichet.fr', secrets);
      expectProblem(await passAdmin.call('POST', `/api/v1/staff/${id}/erasure`, { reason: 'ailleurs' }), 404, 'staff_not_found');
      const agent = await new Client(server).loginFully('city.agent@demo.guichet.fr', secrets);
      expectProblem(await agent.call('POST', `/api/v1/staff/${id}/erasure`, { reason: 'sans droit' }), 403, 'forbidden');
      expectValidation(await admin.call('POST', `/api/v1/staff/${id}/erasure`, {}), ['/reason']);
      expectValidation(await admin.call('POST', `/api/v1/staff/${id}/erasure`, { reason: '' }), ['/reason']);
      expectProblem(await admin.call('POST', `/api/v1/staff/${id}/erasure`, { reason: 'x' }, { csrf: false }), 403, 'csrf_token_invalid');
      assert.equal((await leaving.call('GET', '/api/v1/me')).status, 200, 'the refusals changed nothing');

      const erased = await admin.call('POST', `/api/v1/staff/${id}/erasure`, { reason: 'Demande écrite de l\'agent' });
      assert.equal(erased.status, 200, erased.text);
      assert.deepEqual(erased.body.person, { type: 'staff', id });
      assert.deepEqual(erased.body.kept, []);
      expectProblem(await leaving.call('GET', '/api/v1/me'), 401, 'unauthenticated');
      expectProblem(await new Client(server).login(email, 'Tilleul-Orage-Basalte-93'), 401, 'invalid_credentials');
      expectProblem(await admin.call('GET', `/api/v1/staff/${id}`), 404, 'staff_not_found');
      const history = await admin.call('GET', `/api/v1/audit/user/${id}`);
      assert.equal(history.status, 200, history.text);
      assert.equal(history.body.entries[0].action, 'privacy.erasure');
      assert.equal(history.body.entries[0].after.reason, 'Demande écrite de l\'agent');
      assert.ok(history.body.entries.slice(1).every((e) => e.redacted), 'earlier entries redacted');
      assert.ok(!history.text.includes(email) && !history.text.includes('Agent Partant'), 'no personal data left');
      expectProblem(await admin.call('POST', `/api/v1/staff/${id}/erasure`, { reason: 'encore' }), 409, 'already_erased');

      const verify = execFileSync(process.env.GUICHET_BIN ?? join(projectRoot, 'build/guichet'), ['audit', 'verify'],
        { env: { ...process.env, GUICHET_DB: server.db, GUICHET_LOG_LEVEL: 'error' } }).toString();
      assert.match(verify, /audit trail intact/);
    });
  });
}
