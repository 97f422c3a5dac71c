// The authorisation matrix: every route of the OpenAPI document (generated from the route
// table, so a new route cannot be forgotten) × every demo profile, anonymous, and a user of
// another organisation. Expected answers come from the route's x-guichet-right and the
// profile's permissions as the server's own catalog states them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, startServer } from '../support/server.mjs';
import { Client } from './identity_client.mjs';

const demoUsers = [
  'national.admin@demo.guichet.fr', 'regional.admin@demo.guichet.fr', 'manager@demo.guichet.fr',
  'merchant@demo.guichet.fr', 'pass.admin@demo.guichet.fr', 'tourism@demo.guichet.fr',
  'partner@demo.guichet.fr', 'syndicate.admin@demo.guichet.fr', 'city.agent@demo.guichet.fr',
  'regisseur@demo.guichet.fr', 'school.agent@demo.guichet.fr',
];
// Routes that end the session are exercised last, in their own pass.
const sessionEnders = new Set(['DELETE /api/v1/session', 'POST /api/v1/session/logout-everywhere']);

function operations(document) {
  const list = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const right = operation['x-guichet-right'] ?? '';
      // Ids that exist nowhere: an allowed caller gets 404 or 422, never a change.
      const concrete = path.replace(/\{[^}]+\}/g, '999999');
      list.push({ method: method.toUpperCase(), path, concrete, right });
    }
  }
  return list;
}

function expectedAllowed(right, permissions) {
  if (right === '' || right === 'session' || right === 'session.pending') return true;
  return permissions.has(right);
}

for (const backend of backends()) {
  describe(`authorization matrix (${backend})`, () => {
    let server; let document; const permissionsByUser = new Map(); const secrets = new Map();
    before(async () => {
      server = await startServer({ backend, demo: true, env: { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192',
        GUICHET_PASSWORD_HASH_OPS: '1' } });
      document = (await fetch(server.url + '/api/openapi.json').then((r) => r.json()));
      const admin = await new Client(server).loginFully(demoUsers[0], secrets);
      const catalog = (await admin.call('GET', '/api/v1/profiles')).body.profiles;
      for (const email of demoUsers) {
        const client = await new Client(server).loginFully(email, secrets);
        const me = (await client.call('GET', '/api/v1/me')).body;
        const permissions = new Set();
        for (const grant of me.grants) {
          for (const p of catalog.find((c) => c.code === grant.profile).permissions) permissions.add(p);
        }
        permissionsByUser.set(email, { client, permissions });
      }
    });
    after(async () => { await server?.stop(); });

    test('anonymous callers get 401 on every protected route and through on public ones', async () => {
      const anonymous = new Client(server);
      for (const op of operations(document)) {
        const r = await anonymous.call(op.method, op.concrete, op.method === 'GET' ? undefined : {});
        const context = `${op.method} ${op.path} (${op.right || 'public'}): ${r.status} ${r.text.slice(0, 200)}`;
        if (op.right === '') assert.ok(r.status !== 401 && r.status !== 403, context);
        else assert.equal(r.status, 401, context);
      }
    });

    test('each profile is allowed exactly the routes its permissions name', async () => {
      let checked = 0;
      for (const email of demoUsers) {
        const { client, permissions } = permissionsByUser.get(email);
        for (const op of operations(document)) {
          if (sessionEnders.has(`${op.method} ${op.path}`)) continue;
          if (op.path === '/api/v1/session' && op.method === 'POST') continue;  // would replace the session
          if (op.path === '/api/v1/session/second-factor') continue;  // only for pending sessions
          const r = await client.call(op.method, op.concrete, op.method === 'GET' ? undefined : {});
          const context = `${email} ${op.method} ${op.path} (${op.right || 'public'}): ${r.status} ${r.text.slice(0, 200)}`;
          if (expectedAllowed(op.right, permissions)) {
            assert.ok(r.status !== 401 && r.status !== 403, `should be allowed: ${context}`);
          } else {
            assert.equal(r.status, 403, `should be refused: ${context}`);
          }
          checked += 1;
        }
      }
      assert.ok(checked > demoUsers.length * 10, `only ${checked} checks ran`);
    });

    test('a user of another organisation cannot read records by guessing ids', async () => {
      const lyonAdmin = permissionsByUser.get('syndicate.admin@demo.guichet.fr').client;
      const walletStaff = (await permissionsByUser.get('national.admin@demo.guichet.fr').client
        .call('GET', '/api/v1/staff')).body.staff;
      const walletOrgs = (await permissionsByUser.get('national.admin@demo.guichet.fr').client
        .call('GET', '/api/v1/organisations')).body.organisations;
      assert.ok(walletStaff.length >= 4 && walletOrgs.length >= 4);
      for (const person of walletStaff) {
        const r = await lyonAdmin.call('GET', `/api/v1/staff/${person.id}`);
        assert.equal(r.status, 404, `staff ${person.id}: ${r.status}`);
        assert.equal(r.body.code, 'staff_not_found');
        const history = await lyonAdmin.call('GET', `/api/v1/audit/user/${person.id}`);
        assert.equal(history.status, 404, `history of ${person.id}: ${history.status}`);
      }
      for (const org of walletOrgs) {
        const r = await lyonAdmin.call('GET', `/api/v1/organisations/${org.id}`);
        assert.equal(r.status, 404, `organisation ${org.id}: ${r.status}`);
      }
      const listed = (await lyonAdmin.call('GET', '/api/v1/staff')).body.staff;
      assert.ok(listed.every((p) => !walletStaff.some((w) => w.id === p.id)), 'another tree leaked into the list');
    });

    test('session-ending routes end the session for every profile', async () => {
      for (const email of demoUsers) {
        const { client } = permissionsByUser.get(email);
        const r = await client.call('DELETE', '/api/v1/session');
        assert.equal(r.status, 204, `${email}: ${r.status} ${r.text}`);
        assert.equal((await client.call('GET', '/api/v1/me')).status, 401);
      }
    });
  });
}
