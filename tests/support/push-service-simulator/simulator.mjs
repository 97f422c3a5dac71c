// Push service simulator: a small local HTTP server speaking the Web Push protocol (RFC 8030)
// as a browser vendor's push service does, for tests. No real push service is reachable here.
//
// It hands out subscriptions as a browser would (an endpoint URL, a P-256 key pair whose public
// half is `p256dh`, a 16-byte `auth` secret) and, for each POST to an endpoint:
//   - checks `Authorization: vapid t=<JWT>, k=<key>` (RFC 8292): the ES256 signature with `k`,
//     `aud` = this service's origin, `exp` in the future and at most 24 hours ahead, `sub` a
//     mailto: or https: contact; 401/403 otherwise;
//   - checks Content-Encoding: aes128gcm, TTL and Urgency;
//   - DECRYPTS the body with the subscriber's private key per RFC 8291 / RFC 8188 (code of its
//     own, Node's crypto: nothing shared with the server under test); 400 if it cannot;
//   - answers 201, or 410 for a subscription marked gone, 404 for an unknown one.
// What it received is listed for the test (`received()`).
import { createECDH, createHmac, createDecipheriv, createPublicKey, randomBytes, verify } from 'node:crypto';
import { createServer } from 'node:http';

const b64u = (buffer) => Buffer.from(buffer).toString('base64url');
const hmac = (key, data) => createHmac('sha256', key).update(data).digest();

/** RFC 8291 decryption of an aes128gcm body by the user agent holding `ecdh` and `auth`. */
export function decryptAes128gcm(body, ecdh, auth) {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20];
  const keyid = body.subarray(21, 21 + idlen);
  const records = body.subarray(21 + idlen);
  if (idlen !== 65 || rs < 18) throw new Error(`unexpected header: rs ${rs}, idlen ${idlen}`);
  if (records.length > rs) throw new Error('more than one record');
  const uaPublic = ecdh.getPublicKey();
  const ecdhSecret = ecdh.computeSecret(keyid);
  const prkKey = hmac(auth, ecdhSecret);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, keyid, Buffer.from([1])]);
  const ikm = hmac(prkKey, keyInfo);
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01')).subarray(0, 12);
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(records.subarray(records.length - 16));
  const padded = Buffer.concat([decipher.update(records.subarray(0, records.length - 16)), decipher.final()]);
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end -= 1;
  if (end < 0 || padded[end] !== 2) throw new Error('no last-record delimiter');
  return padded.subarray(0, end).toString('utf8');
}

/** RFC 8292: returns the JWT claims, or throws with the reason. */
export function verifyVapid(header, origin, nowS = Math.floor(Date.now() / 1000)) {
  const match = /^vapid t=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? '');
  if (!match) throw new Error('no vapid authorization');
  const [, jwt, k] = match;
  const point = Buffer.from(k, 'base64url');
  if (point.length !== 65 || point[0] !== 4) throw new Error('k is not an uncompressed P-256 point');
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64u(point.subarray(1, 33)),
    y: b64u(point.subarray(33)) }, format: 'jwk' });
  const [head, claims, signature] = jwt.split('.');
  const alg = JSON.parse(Buffer.from(head, 'base64url').toString()).alg;
  if (alg !== 'ES256') throw new Error(`alg ${alg}`);
  const ok = verify('sha256', Buffer.from(`${head}.${claims}`),
    { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  if (!ok) throw new Error('bad signature');
  const payload = JSON.parse(Buffer.from(claims, 'base64url').toString());
  if (payload.aud !== origin) throw new Error(`aud ${payload.aud} is not ${origin}`);
  if (!(payload.exp > nowS && payload.exp <= nowS + 24 * 3600)) throw new Error(`exp ${payload.exp}`);
  if (!/^(mailto:|https:)/.test(payload.sub ?? '')) throw new Error(`sub ${payload.sub}`);
  return { claims: payload, k };
}

export async function startPushServiceSimulator() {
  const subscriptions = new Map();  // token → { ecdh, auth, gone }
  const received = [];
  const refused = [];
  let origin;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const answer = (status, text = '') => { res.writeHead(status, { 'content-type': 'text/plain' }); res.end(text); };
      const token = /^\/push\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '')?.[1];
      if (req.method !== 'POST' || !token) return answer(404, 'no such endpoint');
      const subscription = subscriptions.get(token);
      if (!subscription) return answer(404, 'unknown subscription');
      if (subscription.gone) return answer(410, 'subscription expired');
      let vapid;
      try { vapid = verifyVapid(req.headers.authorization, origin); } catch (error) {
        refused.push({ token, reason: error.message });
        return answer(403, `VAPID: ${error.message}`);
      }
      const ttl = Number(req.headers.ttl);
      if (req.headers['content-encoding'] !== 'aes128gcm' || !Number.isInteger(ttl) || ttl < 0 ||
          !['very-low', 'low', 'normal', 'high'].includes(req.headers.urgency ?? 'normal')) {
        refused.push({ token, reason: 'headers' });
        return answer(400, 'Content-Encoding aes128gcm, TTL and Urgency expected');
      }
      let text;
      try { text = decryptAes128gcm(Buffer.concat(chunks), subscription.ecdh, subscription.auth); } catch (error) {
        refused.push({ token, reason: `decrypt: ${error.message}` });
        return answer(400, 'cannot decrypt');
      }
      received.push({ token, text, ttl, urgency: req.headers.urgency, vapid });
      res.writeHead(201, { location: `${origin}/message/${received.length}` });
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    /** A browser's PushSubscription.toJSON(). */
    subscribe() {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16);
      const token = b64u(randomBytes(12));
      subscriptions.set(token, { ecdh, auth, gone: false });
      return { endpoint: `${origin}/push/${token}`, expirationTime: null,
        keys: { p256dh: b64u(ecdh.getPublicKey()), auth: b64u(auth) } };
    },
    expire(endpoint) { subscriptions.get(endpoint.split('/').pop()).gone = true; },
    received: () => received,
    refused: () => refused,
    stop: () => new Promise((r) => server.close(r)),
  };
}
