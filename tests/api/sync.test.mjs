// Offline sync over HTTP, with the diagnostics test module of the binary: a paired device (a
// simulator signing with Ed25519 in node) reads feeds as snapshot pages then changes, uploads
// signed batches whose events are applied in order, sees refusals by code, and waits for funds;
// staff read reports in their scope and give up a waiting event.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { backends, startServer } from '../support/server.mjs';
import { expectProblem, expectValidation, request } from './lib.mjs';
import { Client } from './identity_client.mjs';
import { batchSigningString } from './sync_support.mjs';

const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
const sha256Hex = (data) => createHash('sha256').update(data).digest('hex');

/** A point of sale with its own key pair; signs requests and batches. */
class Device {
  constructor(server) {
    this.server = server;
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    this.publicKey = publicKey.export({ format: 'jwk' }).x;
    this.privateKey = privateKey;
    this.nextSeq = 1;
  }

  async pair(code) {
    const r = await request(this.server, 'POST', '/api/v1/devices/pair', { json: { code, public_key: this.publicKey } });
    assert.equal(r.status, 201, r.text);
    this.id = r.body.device_id;
  }

  async call(method, target, json, headers = {}, at = Date.now()) {
    const body = json === undefined ? '' : JSON.stringify(json);
    const timestamp = String(at);
    const canonical = [method, target, timestamp, sha256Hex(body)].join('\n');
    const all = {
      ...headers,
      'x-device-id': String(this.id),
      'x-device-timestamp': timestamp,
      'x-device-signature': sign(null, Buffer.from(canonical), this.privateKey).toString('base64url'),
    };
    if (json !== undefined) all['content-type'] = 'application/json';
    return request(this.server, method, target, { headers: all, body: json === undefined ? undefined : body });
  }

  batch(batchId, events, { key = this.privateKey } = {}) {
    const batch = { device_id: this.id, batch_id: batchId, events };
    batch.signature = sign(null, Buffer.from(batchSigningString(batch)), key).toString('base64url');
    return batch;
  }

  /** Events numbered from the device's next seq. */
  events(...specs) {
    return specs.map(([kind, payload]) => ({ seq: this.nextSeq++, kind, at_ms: Date.now() - 60000, payload }));
  }

  /** `at`: the request timestamp (two identical requests need two, or the second is a replay). */
  upload(batch, at = Date.now()) { return this.call('POST', '/api/v1/sync/batches', batch, {}, at); }

  /** Reads a feed to the end; returns {state, cursor, pages, gzipped}. */
  async readFeed(name, cursor = '', limit = 1000, state = new Map()) {
    let pages = 0; let gzipped = false; const trail = [];
    for (let guard = 0; guard < 1000; guard++) {
      const query = `?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await this.call('GET', `/api/v1/sync/feeds/${name}${query}`, undefined, { 'accept-encoding': 'gzip' });
      assert.equal(r.status, 200, r.text);
      pages++;
      trail.push(`${r.body.mode}:${r.body.items.length}${r.body.reset ? ':reset' : ''}`);
      gzipped ||= r.headers.get('content-encoding') === 'gzip';
      if (r.body.reset) state.clear();
      for (const item of r.body.items) {
        if (item.del) state.delete(item.k); else state.set(item.k, item.v);
      }
      cursor = r.body.cursor;
      if (r.body.complete) return { state, cursor, pages, gzipped, trail };
    }
    throw new Error('feed never completed');
  }
}

async function poll(check, deadlineMs = 10000) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

for (const backend of backends()) {
  describe(`offline sync (${backend})`, () => {
    let server; let admin; let otherTreeAdmin; let city;
    before(async () => {
      server = await startServer({ backend, demo: true, env: fastHashing });
      admin = await new Client(server).loginFully('syndicate.admin@demo.guichet.fr', new Map());
      otherTreeAdmin = await new Client(server).loginFully('pass.admin@demo.guichet.fr', new Map());
      const organisations = (await admin.call('GET', '/api/v1/organisations')).body.organisations;
      city = organisations.find((o) => o.kind === 'city');
      assert.ok(city, 'demo city');
    });
    after(async () => { await server?.stop(); });

    async function pairedDevice() {
      const pairing = await admin.call('POST', '/api/v1/devices/pairings', { organisation_id: city.id, kind: 'pos', label: 'Caisse hors ligne' });
      assert.equal(pairing.status, 201, pairing.text);
      const device = new Device(server);
      await device.pair(pairing.body.pairing_code);
      return device;
    }

    test('a feed comes as gzipped snapshot pages, then only the changes in the device scope', async () => {
      const device = await pairedDevice();
      const made = await request(server, 'POST', '/api/v1/diagnostics/sync/items', { json: { count: 2500 } });
      assert.equal(made.status, 201, made.text);
      const first = await device.readFeed('diagnostics.items');
      assert.equal(first.state.size, 2500);
      assert.deepEqual(first.trail, ['snapshot:1000:reset', 'snapshot:1000', 'snapshot:500', 'changes:0'],
        '3 pages of at most 1000, then the (empty) changes');
      assert.ok(first.gzipped, 'large pages are gzip-compressed');
      assert.deepEqual(first.state.get('i000042'), { n: 42, l: 'article de test' });
      for (const change of [{ key: 'i000001', value: { n: -1 } }, { key: 'i000002', value: null },
        { key: 'elsewhere', value: { n: 9 }, scope: '/999999/' }]) {
        const r = await request(server, 'POST', '/api/v1/diagnostics/sync/changes', { json: { feed: 'diagnostics.items', ...change } });
        assert.equal(r.status, 201, r.text);
      }
      const next = await device.readFeed('diagnostics.items', first.cursor, 1000, first.state);
      assert.equal(next.pages, 1);
      assert.deepEqual(next.state.get('i000001'), { n: -1 });
      assert.equal(next.state.has('i000002'), false);
      assert.equal(next.state.has('elsewhere'), false, 'another scope never reaches this device');
      expectProblem(await device.call('GET', '/api/v1/sync/feeds/nothing.here'), 404, 'feed_unknown');
      expectProblem(await device.call('GET', '/api/v1/sync/feeds/diagnostics.items?cursor=garbage'), 400, 'cursor_invalid');
      expectProblem(await device.call('GET', '/api/v1/sync/feeds/diagnostics.items?limit=5000'), 400, 'invalid_parameter');
      expectProblem(await admin.call('GET', '/api/v1/sync/feeds/diagnostics.items'), 403, 'forbidden');
      expectProblem(await request(server, 'GET', '/api/v1/sync/feeds/diagnostics.items'), 401, 'unauthenticated');
    });

    test('a signed batch is applied in order; re-sent it answers the same; gaps, reuse, forgery and size are refused', async () => {
      const device = await pairedDevice();
      const batch = device.batch('b-1', device.events(['diagnostics.note', { i: 1 }], ['diagnostics.nope', {}],
        ['diagnostics.note', { i: 3, s: 'é\n' }]));
      const r = await device.upload(batch);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body.outcomes.map((o) => [o.seq, o.state, o.code ?? null]),
        [[1, 'applied', null], [2, 'refused', 'event_kind_unknown'], [3, 'applied', null]]);
      assert.deepEqual(r.body.outcomes[2].result, { seq: 3 });
      const again = await device.upload(batch);
      assert.equal(again.status, 200, again.text);
      assert.equal(again.body.duplicate, true);
      assert.deepEqual(again.body.outcomes, r.body.outcomes, 'the stored outcomes, nothing applied twice');

      const skipped = device.batch('b-2', [{ seq: 7, kind: 'diagnostics.note', at_ms: 1, payload: {} }]);
      const gap = expectProblem(await device.upload(skipped), 409, 'sequence_gap');
      assert.equal(gap.expected_seq, 4);
      const reused = device.batch('b-3', [{ ...batch.events[2], payload: { i: 33 } }]);
      expectProblem(await device.upload(reused), 409, 'sequence_reused');
      const impostor = generateKeyPairSync('ed25519').privateKey;
      expectProblem(await device.upload(device.batch('b-4', device.events(['diagnostics.note', {}]), { key: impostor })),
        401, 'batch_signature_invalid');
      const tampered = device.batch('b-5', [{ seq: 4, kind: 'diagnostics.note', at_ms: 1, payload: { i: 4 } }]);
      tampered.events[0].payload.i = 5;
      expectProblem(await device.upload(tampered), 401, 'batch_signature_invalid');
      const many = Array.from({ length: 501 }, (_, i) => ({ seq: 4 + i, kind: 'diagnostics.note', at_ms: 1, payload: {} }));
      expectProblem(await device.upload(device.batch('b-6', many)), 413, 'batch_too_large');
      expectValidation(await device.upload({ device_id: device.id, batch_id: 'bad id', signature: 'x', extra: 1,
        events: [{ seq: 4, kind: 'Bad', at_ms: -1, payload: { f: 1.5 } }, { seq: 9, kind: 'k', at_ms: 1, payload: [] }] }),
      ['/batch_id', '/extra', '/events/0/kind', '/events/0/at_ms', '/events/0/payload', '/events/1/payload', '/events/1/seq']);
      const otherDevice = await pairedDevice();
      expectProblem(await otherDevice.upload(device.batch('b-7', [{ seq: 4, kind: 'diagnostics.note', at_ms: 1, payload: {} }])),
        403, 'batch_device_mismatch');
      // Nothing of the refused batches was kept: seq 4 is still the next one.
      device.nextSeq = 4;
      const next = await device.upload(device.batch('b-8', device.events(['diagnostics.note', {}])));
      assert.equal(next.status, 200, next.text);
      assert.equal(next.body.outcomes[0].seq, 4);
    });

    test('the same batch sent twice at once is applied once', async () => {
      const device = await pairedDevice();
      const batch = device.batch('twice', device.events(...Array.from({ length: 30 }, () => ['diagnostics.debit', { a: `twice-${backend}`, n: 1 }])));
      await request(server, 'POST', '/api/v1/diagnostics/sync/credits', { json: { account: `twice-${backend}`, amount: 30 } });
      const at = Date.now();
      const [a, b] = await Promise.all([device.upload(batch, at), device.upload(batch, at + 1)]);
      assert.equal(a.status, 200, a.text);
      assert.equal(b.status, 200, b.text);
      assert.deepEqual(a.body.outcomes.map((o) => o.state), Array(30).fill('applied'));
      assert.deepEqual(b.body.outcomes, a.body.outcomes);
      const feed = await device.readFeed('diagnostics.balances');
      assert.deepEqual(feed.state.get(`twice-${backend}`), { b: 0 }, 'each debit applied exactly once');
    });

    test('an event waiting for funds is retried at a credit, now or by the job, and staff can give one up', async () => {
      const device = await pairedDevice();
      const account = `ana-${backend}`;
      const r = await device.upload(device.batch('w-1', device.events(['diagnostics.debit', { a: account, n: 500 }],
        ['diagnostics.debit', { a: account, n: 300 }], ['diagnostics.debit', { a: account, n: 10000 }],
        ['diagnostics.note', {}])));
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body.outcomes.map((o) => o.state), ['waiting', 'waiting', 'waiting', 'applied']);
      assert.equal(r.body.outcomes[0].code, 'insufficient_funds');
      assert.equal(r.body.outcomes[0].wait_key, `diagnostics.account:${account}`);

      const now = await request(server, 'POST', '/api/v1/diagnostics/sync/credits', { json: { account, amount: 500, retry_now: true } });
      assert.equal(now.status, 200, now.text);
      assert.equal(now.body.applied, 1, 'the first debit, at once');
      await request(server, 'POST', '/api/v1/diagnostics/sync/credits', { json: { account, amount: 300 } });
      const report = await poll(async () => {
        const own = await device.call('GET', '/api/v1/sync/report');
        assert.equal(own.status, 200, own.text);
        return own.body.events_by_state.applied === 3 ? own.body : undefined;
      });
      assert.equal(report.waiting.length, 1);
      assert.equal(report.waiting[0].seq, 3);
      assert.ok(report.waiting[0].attempts >= 2);
      assert.equal(report.batches[0].batch_id, 'w-1');

      // Staff: the device's report, the subtree's, refusals outside their scope, giving up.
      const staffView = await admin.call('GET', `/api/v1/sync/devices/${device.id}/report`);
      assert.equal(staffView.status, 200, staffView.text);
      assert.equal(staffView.body.waiting[0].code, 'insufficient_funds');
      expectProblem(await otherTreeAdmin.call('GET', `/api/v1/sync/devices/${device.id}/report`), 404, 'device_not_found');
      expectProblem(await otherTreeAdmin.call('GET', `/api/v1/sync/organisations/${city.id}/report`), 404, 'organisation_not_found');
      const eventId = staffView.body.waiting[0].id;
      expectProblem(await otherTreeAdmin.call('POST', `/api/v1/sync/events/${eventId}/abandonment`, { reason: 'x' }), 404, 'event_not_found');
      expectValidation(await admin.call('POST', `/api/v1/sync/events/${eventId}/abandonment`, {}), ['/reason']);
      expectProblem(await device.call('POST', `/api/v1/sync/events/${eventId}/abandonment`, { reason: 'x' }), 403, 'forbidden');
      const given = await admin.call('POST', `/api/v1/sync/events/${eventId}/abandonment`, { reason: 'Titulaire parti' });
      assert.equal(given.status, 200, given.text);
      assert.equal(given.body.state, 'abandoned');
      assert.equal(given.body.abandon_reason, 'Titulaire parti');
      expectProblem(await admin.call('POST', `/api/v1/sync/events/${eventId}/abandonment`, { reason: 'again' }), 409, 'event_not_waiting');
      const subtree = await admin.call('GET', `/api/v1/sync/organisations/${city.id}/report`);
      assert.equal(subtree.status, 200, subtree.text);
      const mine = subtree.body.devices.find((d) => d.device_id === device.id);
      assert.equal(mine.events_by_state.abandoned, 1);
      expectProblem(await admin.call('GET', '/api/v1/sync/report'), 403, 'forbidden');
    });
  });
}
