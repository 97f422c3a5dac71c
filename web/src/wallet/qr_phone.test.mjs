// Tests of qr_phone.ts (run: node --test web/src/wallet/): codes made here are byte for byte
// the fixed vectors of tests/vectors/wallet_qr.json, which the C++ side (qr_codes_test.cpp)
// makes and judges the same way, so a code made by either verifies in the other.
// WRITE_VECTORS=1 rewrites the file from this implementation (then review the diff).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';

import { importTypeScript } from '../../../tests/support/typescript.mjs';

const q = await importTypeScript('src/wallet/qr_phone.ts');
const vectorsPath = resolve(import.meta.dirname, '../../../tests/vectors/wallet_qr.json');

const seed = (start) => Uint8Array.from({ length: 32 }, (_, i) => start + i);

function patch(text, at, bytes) {
  const raw = q.fromBase64Url(text.slice(q.QR_PREFIX.length));
  raw.set(bytes, at);
  return q.QR_PREFIX + q.toBase64Url(raw);
}

async function buildVectors() {
  const service = await q.keyPairFromSeed(seed(0));
  const other = await q.keyPairFromSeed(seed(0x20));
  const phone = await q.keyPairFromSeed(seed(0x40));
  const made = 1_800_000_000;
  const fields = { phoneId: 42n, holderId: 7n, phonePublicKey: phone.publicKey, expiresAtS: made + 180 * 24 * 3600 };
  const certificate = await q.signQrCertificate(service, fields);
  const codes = [];
  for (const [counter, madeAtS] of [[0, made], [1, made + 100], [0xffffffff, made + 200]]) {
    codes.push({ counter, made_at_s: madeAtS, text: await q.makeQrCode(certificate, phone, counter, madeAtS) });
  }
  const first = codes[0].text;
  const at = (s) => s * 1000;
  const forgedHolder = patch(first, 13, [0, 0, 0, 0, 0, 0, 0, 8]);  // the phone re-signs, the certificate does not
  const foreign = await q.makeQrCode(await q.signQrCertificate(other, fields), phone, 0, made);
  const foreignWithOurKeyId = patch(foreign, 1, service.keyId);
  const lateCertificate = await q.makeQrCode(certificate, phone, 9, fields.expiresAtS + 1);
  const version2 = patch(first, 0, [2]);
  const cases = [
    { name: 'valid', text: first, point_now_ms: at(made + 10), expect: 'ok' },
    { name: 'valid_at_the_last_second', text: first, point_now_ms: at(made + 300), expect: 'ok' },
    { name: 'expired', text: first, point_now_ms: at(made + 300) + 1, expect: 'qr_expired' },
    { name: 'drift_allowed', text: first, point_now_ms: at(made - 60), expect: 'ok' },
    { name: 'not_yet_valid', text: first, point_now_ms: at(made - 60) - 1, expect: 'qr_not_yet_valid' },
    { name: 'revoked', text: first, point_now_ms: at(made + 10), revoked: [42], expect: 'qr_phone_revoked' },
    { name: 'other_revoked', text: first, point_now_ms: at(made + 10), revoked: [41, 43], expect: 'ok' },
    { name: 'tampered_counter', text: patch(first, 124, [1]), point_now_ms: at(made + 10), expect: 'qr_signature_invalid' },
    { name: 'tampered_time', text: patch(first, 128, [0x01]), point_now_ms: at(made + 10), expect: 'qr_signature_invalid' },
    { name: 'forged_certificate', text: forgedHolder, point_now_ms: at(made + 10), expect: 'qr_signature_invalid' },
    { name: 'other_service', text: foreign, point_now_ms: at(made + 10), expect: 'qr_signature_invalid' },
    { name: 'other_service_our_key_id', text: foreignWithOurKeyId, point_now_ms: at(made + 10), expect: 'qr_signature_invalid' },
    { name: 'certificate_expired', text: lateCertificate, point_now_ms: at(fields.expiresAtS + 1), expect: 'qr_expired' },
    { name: 'wrong_prefix', text: 'GQ2.' + first.slice(4), point_now_ms: at(made), expect: 'qr_malformed' },
    { name: 'truncated', text: first.slice(0, -4), point_now_ms: at(made), expect: 'qr_malformed' },
    { name: 'not_base64url', text: first.slice(0, -1) + '=', point_now_ms: at(made), expect: 'qr_malformed' },
    { name: 'non_canonical_base64url', text: first.slice(0, -1) + String.fromCharCode(first.at(-1).charCodeAt(0) + 1), point_now_ms: at(made), expect: 'qr_malformed' },
    { name: 'version_2', text: version2, point_now_ms: at(made), expect: 'qr_malformed' },
    { name: 'empty', text: '', point_now_ms: at(made), expect: 'qr_malformed' },
  ];
  return {
    comment: 'Fixed vectors of the wallet QR format (docs/wallet-qr.md), checked by web/src/wallet/qr_phone.test.mjs and modules/wallet/qr_codes_test.cpp. Seeds are raw Ed25519 seeds (hex).',
    service_seed_hex: q.toHex(seed(0)),
    other_service_seed_hex: q.toHex(seed(0x20)),
    phone_seed_hex: q.toHex(seed(0x40)),
    service_key: { key_id: q.toHex(service.keyId), public_key: q.toBase64Url(service.publicKey) },
    phone_public_key: q.toBase64Url(phone.publicKey),
    phone_id: 42,
    holder_id: 7,
    certificate_expires_at_s: fields.expiresAtS,
    certificate: q.toBase64Url(certificate),
    lifetime_s: 300,
    codes,
    cases,
  };
}

const built = await buildVectors();
if (process.env.WRITE_VECTORS === '1') writeFileSync(vectorsPath, JSON.stringify(built, null, 1) + '\n');
const vectors = JSON.parse(readFileSync(vectorsPath, 'utf8'));

test('codes made here are the fixed vectors, byte for byte', () => {
  assert.deepEqual(built, vectors);
  for (const code of vectors.codes) assert.ok(code.text.length < 270, `${code.text.length} characters`);
});

test('every vector case gets the expected verdict offline', async () => {
  for (const c of vectors.cases) {
    const verdict = await q.verifyQrOffline(c.text, [vectors.service_key], new Set((c.revoked ?? []).map(BigInt)), c.point_now_ms, vectors.lifetime_s);
    assert.equal(verdict.ok ? 'ok' : verdict.code, c.expect, c.name);
  }
});

test('a phone key made on this machine makes codes that verify, once parsed the same', async () => {
  const service = await q.keyPairFromSeed(crypto.getRandomValues(new Uint8Array(32)));
  const phone = await q.generatePhoneKey();
  const now = Math.floor(Date.now() / 1000);
  const certificate = await q.signQrCertificate(service, { phoneId: 1n, holderId: 2n, phonePublicKey: phone.publicKey, expiresAtS: now + 3600 });
  const keys = [{ key_id: q.toHex(service.keyId), public_key: q.toBase64Url(service.publicKey) }];
  const text = await q.makeQrCode(q.toBase64Url(certificate), phone, 5, now);
  const verdict = await q.verifyQrOffline(text, keys, new Set(), now * 1000, 300);
  assert.equal(verdict.ok, true);
  assert.equal(verdict.code.counter, 5);
  assert.equal(verdict.code.certificate.holderId, 2n);
  assert.match(text, /^GQ1\.[A-Za-z0-9_-]{258}$/);
});

test('base64url is strict', () => {
  assert.deepEqual(q.fromBase64Url('AA'), Uint8Array.of(0));
  assert.deepEqual(q.fromBase64Url('AQ'), Uint8Array.of(1));
  assert.equal(q.fromBase64Url('AR'), null);  // non-zero trailing bits
  assert.equal(q.fromBase64Url('A'), null);
  assert.equal(q.fromBase64Url('A+'), null);
});
