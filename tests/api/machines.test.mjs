// Machine clients over HTTP: API keys of institution systems (scopes, rotation, revocation)
// and devices that pair with a one-time code and sign every request with Ed25519, driven by a
// device simulator. Every refusal a forged, replayed, skewed, expired or opposed credential
// meets is checked by its code.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { backends, startServer } from '../support/server.mjs';
import { expectProblem, expectValidation, request } from './lib.mjs';
import { Client } from './identity_client.mjs';

const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
const pairingCodePattern = /^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}$/;

const sha256Hex = (data) => createHash('sha256').update(data).digest('hex');

/** What an ops person would run against the database: here, to make time pass for a code. */
function sql(server, statement) {
  if (server.backend === 'postgres') {
    execFileSync('psql', [server.db, '-qAt', '-v', 'ON_ERROR_STOP=1', '-c', statement], { stdio: 'pipe' });
  } else {
    execFileSync('sqlite3', ['-cmd', '.timeout 5000', server.db.replace(/^sqlite:/, ''), statement], { stdio: 'pipe' });
  }
}

/** A point of sale, scanner or tablet: its own Ed25519 key pair, signing as the API asks. */
class DeviceSimulator {
  constructor(server) {
    this.server = server;
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    this.publicKey = publicKey.export({ format: 'jwk' }).x;  // base64url of the 32 raw bytes
    this.privateKey = privateKey;
    this.id = undefined;
  }

  async pair(code) {
    const r = await request(this.server, 'POST', '/api/v1/devices/pair', { json: { code, public_key: this.publicKey } });
    if (r.status === 201) this.id = r.body.device_id;
    return r;
  }

  /** The X-Device-* headers for one request; `signed` overrides what is signed (to forge). */
  headers(method, target, body = '', { timestamp = Date.now(), signed = {}, key = this.privateKey } = {}) {
    const canonical = [signed.method ?? method, signed.target ?? target, signed.timestamp ?? String(timestamp),
      sha256Hex(signed.body ?? body)].join('\n');
    return {
      'x-device-id': String(this.id),
      'x-device-timestamp': String(timestamp),
      'x-device-signature': sign(null, Buffer.from(canonical), key).toString('base64url'),
    };
  }

  async call(method, target, json, options = {}) {
    const body = json === undefined ? '' : JSON.stringify(json);
    const headers = options.headers ?? this.headers(method, target, body, options);
    if (json !== undefined) headers['content-type'] = 'application/json';
    return request(this.server, method, target, { headers, body: json === undefined ? undefined : body });
  }
}

async function callWithKey(server, secret, method, path, json) {
  return request(server, method, path, { json, headers: { authorization: `Bearer ${secret}` } });
}

for (const backend of backends()) {
  describe(`machine clients (${backend})`, () => {
    let server; let admin; let otherTreeAdmin; let city; let root;
    before(async () => {
      server = await startServer({ backend, demo: true, env: fastHashing });
      admin = await new Client(server).loginFully('syndicate.admin@demo.guichet.fr', new Map());
      otherTreeAdmin = await new Client(server).loginFully('pass.admin@demo.guichet.fr', new Map());
      const organisations = (await admin.call('GET', '/api/v1/organisations')).body.organisations;
      city = organisations.find((o) => o.kind === 'city');
      root = organisations.find((o) => o.kind === 'syndicate');
      assert.ok(city && root, 'demo organisations');
    });
    after(async () => { await server?.stop(); });

    async function newPairing(kind = 'pos') {
      const r = await admin.call('POST', '/api/v1/devices/pairings', { organisation_id: city.id, kind, label: `Caisse ${kind}` });
      assert.equal(r.status, 201, r.text);
      return r.body;
    }

    async function pairedDevice(kind = 'pos') {
      const device = new DeviceSimulator(server);
      const r = await device.pair((await newPairing(kind)).pairing_code);
      assert.equal(r.status, 201, r.text);
      return device;
    }

    test('an API key acts in its organisation with exactly its scopes, with no session or CSRF token', async () => {
      const created = await admin.call('POST', '/api/v1/api-keys', { organisation_id: city.id, label: 'Logiciel de facturation', scopes: ['identity.orgs.read'] });
      assert.equal(created.status, 201, created.text);
      assert.match(created.body.secret, new RegExp(`^gk_${created.body.public_id}_[A-Za-z0-9_-]{43}$`));
      assert.deepEqual(created.body.scopes, ['identity.orgs.read']);
      const secret = created.body.secret;

      const orgs = await callWithKey(server, secret, 'GET', '/api/v1/organisations');
      assert.equal(orgs.status, 200, orgs.text);
      assert.ok(orgs.body.organisations.some((o) => o.id === city.id));
      assert.ok(orgs.body.organisations.every((o) => o.path.startsWith(city.path)), 'only the key\'s subtree');
      expectProblem(await callWithKey(server, secret, 'GET', `/api/v1/organisations/${root.id}`), 404, 'organisation_not_found');
      // Outside its scopes: refused, although its creator could.
      expectProblem(await callWithKey(server, secret, 'GET', '/api/v1/staff'), 403, 'forbidden');
      expectProblem(await callWithKey(server, secret, 'POST', '/api/v1/api-keys',
        { organisation_id: city.id, label: 'x', scopes: ['identity.orgs.read'] }), 403, 'forbidden');
      expectProblem(await callWithKey(server, secret, 'GET', '/api/v1/me'), 403, 'people_only');

      const listed = (await admin.call('GET', '/api/v1/api-keys')).body.api_keys.find((k) => k.id === created.body.id);
      assert.ok(listed && listed.last_used_at, 'last use is recorded');
      assert.equal(listed.secret, undefined, 'a list never shows secrets');
      const history = await admin.call('GET', `/api/v1/audit/api_key/${created.body.id}`);
      assert.equal(history.status, 200, history.text);
      assert.equal(history.body.entries[0].action, 'identity.api_key.create');
    });

    test('nobody gives a key more than they hold, nor rights that stay with people', async () => {
      expectProblem(await admin.call('POST', '/api/v1/api-keys', { organisation_id: city.id, label: 'x', scopes: ['devices.self'] }),
        403, 'grant_exceeds_own_rights');
      expectValidation(await admin.call('POST', '/api/v1/api-keys', { organisation_id: city.id, label: 'x', scopes: ['identity.staff.manage'] }),
        ['/scopes/0']);
      expectValidation(await admin.call('POST', '/api/v1/api-keys', { organisation_id: city.id, label: 'x', scopes: [] }), ['/scopes']);
      expectProblem(await otherTreeAdmin.call('POST', '/api/v1/api-keys', { organisation_id: city.id, label: 'x', scopes: ['identity.orgs.read'] }),
        404, 'organisation_not_found');
    });

    test('rotation keeps the old secret for its grace period; revocation ends every secret at once', async () => {
      const created = (await admin.call('POST', '/api/v1/api-keys', { organisation_id: city.id, label: 'ERP', scopes: ['identity.orgs.read'] })).body;
      const rotated = await admin.call('POST', `/api/v1/api-keys/${created.id}/rotation`, {});
      assert.equal(rotated.status, 200, rotated.text);
      assert.notEqual(rotated.body.secret, created.secret);
      const graceHours = (Date.parse(rotated.body.previous_secret_valid_until) - Date.now()) / 3600000;
      assert.ok(graceHours > 23.9 && graceHours <= 24, `grace of ${graceHours} h`);
      assert.equal((await callWithKey(server, created.secret, 'GET', '/api/v1/organisations')).status, 200);
      assert.equal((await callWithKey(server, rotated.body.secret, 'GET', '/api/v1/organisations')).status, 200);

      expectProblem(await otherTreeAdmin.call('DELETE', `/api/v1/api-keys/${created.id}`), 404, 'api_key_not_found');
      const revoked = await admin.call('DELETE', `/api/v1/api-keys/${created.id}`);
      assert.equal(revoked.status, 204, revoked.text);
      expectProblem(await callWithKey(server, created.secret, 'GET', '/api/v1/organisations'), 401, 'api_key_revoked');
      expectProblem(await callWithKey(server, rotated.body.secret, 'GET', '/api/v1/organisations'), 401, 'api_key_revoked');
      expectProblem(await admin.call('DELETE', `/api/v1/api-keys/${created.id}`), 409, 'api_key_revoked');
    });

    test('forged and malformed API keys are refused', async () => {
      const created = (await admin.call('POST', '/api/v1/api-keys', { organisation_id: city.id, label: 'CRM', scopes: ['identity.orgs.read'] })).body;
      const forged = created.secret.slice(0, -1) + (created.secret.endsWith('A') ? 'B' : 'A');
      expectProblem(await callWithKey(server, forged, 'GET', '/api/v1/organisations'), 401, 'api_key_invalid');
      expectProblem(await callWithKey(server, 'gk_nothex_x', 'GET', '/api/v1/organisations'), 401, 'api_key_invalid');
      expectProblem(await request(server, 'GET', '/api/v1/organisations', { headers: { authorization: `Basic ${created.secret}` } }),
        401, 'api_key_invalid');
    });

    test('a device pairs once with its code and then acts as itself', async () => {
      const pairing = await newPairing('tablet');
      assert.match(pairing.pairing_code, pairingCodePattern);
      assert.match(pairing.qr_svg, /^<svg[\s>]/);
      const lifetimeMinutes = (Date.parse(pairing.expires_at) - Date.now()) / 60000;
      assert.ok(lifetimeMinutes > 14.9 && lifetimeMinutes <= 15, `code valid ${lifetimeMinutes} min`);
      const device = new DeviceSimulator(server);
      const paired = await device.pair(pairing.pairing_code.toLowerCase());
      assert.equal(paired.status, 201, paired.text);
      assert.equal(paired.body.organisation_id, city.id);
      expectProblem(await new DeviceSimulator(server).pair(pairing.pairing_code), 404, 'pairing_code_invalid');

      const me = await device.call('GET', '/api/v1/devices/me');
      assert.equal(me.status, 200, me.text);
      assert.equal(me.body.id, device.id);
      assert.equal(me.body.kind, 'tablet');
      assert.equal(me.body.status, 'active');
      // A device has its own rights, not its organisation's staff's.
      expectProblem(await device.call('GET', '/api/v1/organisations'), 403, 'forbidden');
      expectProblem(await device.call('GET', '/api/v1/me'), 403, 'people_only');
      // And people are not devices.
      expectProblem(await admin.call('GET', '/api/v1/devices/me'), 403, 'forbidden');
      expectProblem(await request(server, 'GET', '/api/v1/devices/me'), 401, 'unauthenticated');
      const listed = (await admin.call('GET', '/api/v1/devices')).body.devices;
      assert.ok(listed.some((d) => d.id === device.id && d.last_seen_at));
      assert.ok(!(await otherTreeAdmin.call('GET', '/api/v1/devices')).body.devices.some((d) => d.id === device.id));
    });

    test('an expired or malformed pairing is refused', async () => {
      const pairing = await newPairing();
      // Fifteen minutes pass for this code.
      sql(server, `UPDATE device_pairings SET expires_at = 1 WHERE code_hash = '${sha256Hex(pairing.pairing_code)}'`);
      expectProblem(await new DeviceSimulator(server).pair(pairing.pairing_code), 404, 'pairing_code_expired');
      const fresh = await newPairing();
      expectValidation(await request(server, 'POST', '/api/v1/devices/pair',
        { json: { code: fresh.pairing_code, public_key: Buffer.alloc(31, 7).toString('base64url') } }), ['/public_key']);
      expectValidation(await request(server, 'POST', '/api/v1/devices/pair', { json: { code: '0OIL', public_key: 'x' } }),
        ['/code']);
      expectValidation(await admin.call('POST', '/api/v1/devices/pairings', { organisation_id: city.id, kind: 'toaster', label: 'x' }), ['/kind']);
    });

    test('forged device requests are refused: tampered body, path, timestamp, or another key', async () => {
      const device = await pairedDevice();
      const target = `/api/v1/devices/${device.id}/opposition`;
      const tamperedBody = await device.call('POST', target, { reason: 'stolen' }, { signed: { body: '{"reason":"x"}' } });
      expectProblem(tamperedBody, 401, 'device_signature_invalid');
      expectProblem(await device.call('GET', '/api/v1/devices/me', undefined, { signed: { target: '/api/v1/devices/me?x=1' } }),
        401, 'device_signature_invalid');
      const headers = device.headers('GET', '/api/v1/devices/me');
      headers['x-device-timestamp'] = String(Number(headers['x-device-timestamp']) + 1);
      expectProblem(await device.call('GET', '/api/v1/devices/me', undefined, { headers }), 401, 'device_signature_invalid');
      const impostor = generateKeyPairSync('ed25519').privateKey;
      expectProblem(await device.call('GET', '/api/v1/devices/me', undefined, { key: impostor }), 401, 'device_signature_invalid');
      const unknown = device.headers('GET', '/api/v1/devices/me');
      unknown['x-device-id'] = '999999';
      expectProblem(await device.call('GET', '/api/v1/devices/me', undefined, { headers: unknown }), 401, 'device_unknown');
      assert.equal((await device.call('GET', '/api/v1/devices/me')).status, 200, 'the genuine device still works');
    });

    test('a replayed signature and a skewed clock are refused', async () => {
      const device = await pairedDevice('scanner');
      const headers = device.headers('GET', '/api/v1/devices/me');
      assert.equal((await device.call('GET', '/api/v1/devices/me', undefined, { headers: { ...headers } })).status, 200);
      expectProblem(await device.call('GET', '/api/v1/devices/me', undefined, { headers: { ...headers } }), 401, 'device_signature_replayed');
      const before = Date.now();
      const skewed = await device.call('GET', '/api/v1/devices/me', undefined, { timestamp: before - 10 * 60 * 1000 });
      const problem = expectProblem(skewed, 401, 'device_clock_skew');
      const serverTime = Number(/server time is (\d+) ms/.exec(problem.detail)?.[1]);
      assert.ok(Math.abs(serverTime - before) < 60000, `server time given: ${problem.detail}`);
      // Corrected with the server's time, the device is accepted again.
      assert.equal((await device.call('GET', '/api/v1/devices/me', undefined, { timestamp: serverTime + 1 })).status, 200);
    });

    test('opposition cuts a device off at once; reactivation and both are in its history', async () => {
      const device = await pairedDevice();
      assert.equal((await device.call('GET', '/api/v1/devices/me')).status, 200);
      expectValidation(await admin.call('POST', `/api/v1/devices/${device.id}/opposition`, {}), ['/reason']);
      expectProblem(await otherTreeAdmin.call('POST', `/api/v1/devices/${device.id}/opposition`, { reason: 'x' }), 404, 'device_not_found');
      const opposed = await admin.call('POST', `/api/v1/devices/${device.id}/opposition`, { reason: 'Terminal volé' });
      assert.equal(opposed.status, 200, opposed.text);
      assert.equal(opposed.body.status, 'opposed');
      expectProblem(await device.call('GET', '/api/v1/devices/me'), 401, 'device_opposed');
      expectProblem(await admin.call('POST', `/api/v1/devices/${device.id}/opposition`, { reason: 'encore' }), 409, 'device_already_opposed');
      const reactivated = await admin.call('POST', `/api/v1/devices/${device.id}/reactivation`, { reason: 'Retrouvé' });
      assert.equal(reactivated.status, 200, reactivated.text);
      assert.equal((await device.call('GET', '/api/v1/devices/me')).status, 200);

      const history = await admin.call('GET', `/api/v1/devices/${device.id}/history`);
      assert.equal(history.status, 200, history.text);
      assert.deepEqual(history.body.events.map((e) => [e.event, e.reason, e.actor_type]),
        [['reactivated', 'Retrouvé', 'user'], ['opposed', 'Terminal volé', 'user'], ['paired', null, 'user']]);
      expectProblem(await otherTreeAdmin.call('GET', `/api/v1/devices/${device.id}/history`), 404, 'device_not_found');
      const audit = await admin.call('GET', `/api/v1/audit/device/${device.id}`);
      assert.equal(audit.status, 200, audit.text);
      assert.deepEqual(audit.body.entries.map((e) => e.action),
        ['identity.device.reactivate', 'identity.device.oppose', 'identity.device.pair']);
    });
  });
}
