// One-time QR codes (W17) over HTTP, on both databases: the public service keys; a holder enrols
// a phone whose key is made here in node (WebCrypto Ed25519, through web/src/wallet/qr_phone.ts,
// as the phone app will), makes a code offline and verifies it offline as a till would; lists
// and revokes phones; asks for printed codes (JSON, PNG read back by zbar, SVG, a page without
// script); a manager lists and revokes a holder's phone; anonymous and staff callers are refused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backends, startServer } from '../support/server.mjs';
import { importTypeScript } from '../support/typescript.mjs';
import { expectProblem, request } from './lib.mjs';
import { Client } from './identity_client.mjs';
import { HolderClient, activationTokens, newHolder, sql } from './wallet_support.mjs';

const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
const goodPassword = 'Chartreuse-Belledonne-Isère-1968';
const q = await importTypeScript('src/wallet/qr_phone.ts');

function zbar(png) {
  const file = join(mkdtempSync(join(tmpdir(), 'guichet-qr-')), 'code.png');
  writeFileSync(file, png);
  return execFileSync('zbarimg', ['--raw', '-q', '--nodbus', file], { encoding: 'utf8' }).trimEnd();
}

for (const backend of backends()) {
  describe(`wallet QR codes (${backend})`, () => {
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

    test('the service keys are public and stable across calls', async () => {
      const first = await request(server, 'GET', '/api/v1/wallet/qr-key');
      assert.equal(first.status, 200, first.text);
      assert.equal(first.body.format, 'GQ1.');
      assert.equal(first.body.lifetime_s, 300);
      assert.equal(first.body.keys.length, 1);
      assert.match(first.body.keys[0].key_id, /^[0-9a-f]{8}$/);
      assert.equal(first.body.keys[0].algorithm, 'Ed25519');
      const again = await request(server, 'GET', '/api/v1/wallet/qr-key');
      assert.deepEqual(again.body.keys, first.body.keys);
    });

    test('a phone enrolled with a key made here makes codes a till verifies offline', async () => {
      const { holder, id } = await activatedHolder();
      const phone = await q.generatePhoneKey();
      const enrolled = await holder.call('POST', '/api/v1/wallet/me/phones',
        { public_key: q.toBase64Url(phone.publicKey), label: 'Mon téléphone' });
      assert.equal(enrolled.status, 201, enrolled.text);
      const row = enrolled.body.phone;
      assert.equal(row.status, 'active');
      assert.equal(row.kind, 'phone');

      const keys = (await request(server, 'GET', '/api/v1/wallet/qr-key')).body;
      const now = Date.now();
      const text = await q.makeQrCode(row.certificate, phone, 0, Math.floor(now / 1000));
      assert.ok(text.length < 300);
      const verdict = await q.verifyQrOffline(text, keys.keys, new Set(), now, keys.lifetime_s);
      assert.equal(verdict.ok, true, verdict.message);
      assert.equal(verdict.code.certificate.holderId, BigInt(id));
      assert.equal(verdict.code.certificate.phoneId, BigInt(row.id));
      // Once expired, or once the phone is on the till's revoked list, it is refused.
      const late = await q.verifyQrOffline(text, keys.keys, new Set(), now + 301_000, keys.lifetime_s);
      assert.equal(late.code, 'qr_expired');
      const revokedList = await q.verifyQrOffline(text, keys.keys, new Set([BigInt(row.id)]), now, keys.lifetime_s);
      assert.equal(revokedList.code, 'qr_phone_revoked');

      const listed = await holder.call('GET', '/api/v1/wallet/me/phones');
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body.phones.map((p) => p.id), [row.id]);
      const renewed = await holder.call('POST', `/api/v1/wallet/me/phones/${row.id}/certificate`);
      assert.equal(renewed.status, 200, renewed.text);
      assert.equal(renewed.body.phone.public_key, row.public_key);

      const revoked = await holder.call('DELETE', `/api/v1/wallet/me/phones/${row.id}`);
      assert.equal(revoked.status, 200, revoked.text);
      assert.equal(revoked.body.phone.status, 'revoked');
      const support = sql(server, `SELECT opposition FROM wallet_supports WHERE id = ${row.support_id}`);
      assert.deepEqual(support, [['permanent']]);
    });

    test('enrolment refuses bad keys and labels, and another holder cannot touch the phone', async () => {
      const { holder } = await activatedHolder();
      const other = await activatedHolder();
      expectProblem(await holder.call('POST', '/api/v1/wallet/me/phones', { public_key: 'abc', label: 'x' }), 422,
        'public_key_invalid');
      const phone = await q.generatePhoneKey();
      const bad = await holder.call('POST', '/api/v1/wallet/me/phones',
        { public_key: q.toBase64Url(phone.publicKey), label: 'x', colour: 'blue' });
      assert.equal(bad.status, 422, bad.text);
      const ok = await holder.call('POST', '/api/v1/wallet/me/phones', { public_key: q.toBase64Url(phone.publicKey), label: 'P' });
      assert.equal(ok.status, 201, ok.text);
      expectProblem(await other.holder.call('DELETE', `/api/v1/wallet/me/phones/${ok.body.phone.id}`), 404, 'phone_not_found');
      expectProblem(await holder.call('POST', '/api/v1/wallet/me/phones',
        { public_key: q.toBase64Url(phone.publicKey), label: 'P' }, { csrf: false }), 403, 'csrf_token_invalid');
    });

    test('printed codes come as JSON, PNG a real decoder reads, SVG and a page without script', async () => {
      const { holder } = await activatedHolder();
      expectProblem(await holder.call('POST', '/api/v1/wallet/me/qr-codes', { count: 4 }), 422, 'validation_failed');
      const printed = await holder.call('POST', '/api/v1/wallet/me/qr-codes', { count: 2 });
      assert.equal(printed.status, 201, printed.text);
      assert.equal(printed.body.codes.length, 2);
      const keys = (await request(server, 'GET', '/api/v1/wallet/qr-key')).body;
      for (const code of printed.body.codes) {
        const verdict = await q.verifyQrOffline(code.text, keys.keys, new Set(), Date.now(), keys.lifetime_s);
        assert.equal(verdict.ok, true, verdict.message);
        const png = await fetch(server.url + code.png_url, { headers: { cookie: holder.cookie } });
        assert.equal(png.status, 200);
        assert.equal(png.headers.get('content-type'), 'image/png');
        assert.equal(zbar(Buffer.from(await png.arrayBuffer())), code.text);
        const svg = await fetch(server.url + code.svg_url, { headers: { cookie: holder.cookie } });
        assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
        assert.match(await svg.text(), /^<svg/);
      }
      const listed = await holder.call('GET', '/api/v1/wallet/me/qr-codes');
      assert.equal(listed.body.codes.length, 2);
      const page = await fetch(server.url + printed.body.page_url, { headers: { cookie: holder.cookie } });
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type'), /^text\/html/);
      const html = await page.text();
      assert.equal((html.match(/<svg/g) ?? []).length, 2);
      assert.doesNotMatch(html, /<script|style=/);
      assert.match(page.headers.get('content-security-policy'), /default-src 'self'/);
      const stranger = await fetch(server.url + printed.body.codes[0].png_url);
      assert.equal(stranger.status, 401);
    });

    test('a manager lists and revokes a holder\'s phone; staff cannot use holder routes', async () => {
      const { holder, id } = await activatedHolder();
      const phone = await q.generatePhoneKey();
      const enrolled = await holder.call('POST', '/api/v1/wallet/me/phones', { public_key: q.toBase64Url(phone.publicKey), label: 'P' });
      const listed = await manager.call('GET', `/api/v1/wallet/holders/${id}/phones`);
      assert.equal(listed.status, 200, listed.text);
      assert.equal(listed.body.phones.length, 1);
      const revoked = await manager.call('POST', `/api/v1/wallet/holders/${id}/phones/${enrolled.body.phone.id}/revoke`);
      assert.equal(revoked.status, 200, revoked.text);
      assert.equal(revoked.body.phone.status, 'revoked');
      const mine = await holder.call('GET', '/api/v1/wallet/me/phones');
      assert.equal(mine.body.phones[0].status, 'revoked');
      expectProblem(await manager.call('GET', '/api/v1/wallet/me/phones'), 403, 'holder_only');
      expectProblem(await request(server, 'GET', '/api/v1/wallet/me/phones'), 401, 'unauthenticated');
      expectProblem(await request(server, 'GET', `/api/v1/wallet/holders/${id}/phones`), 401, 'unauthenticated');
    });
  });
}
