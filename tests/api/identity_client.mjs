// A browser-like client for the identity API: keeps the session cookie and the CSRF token, and
// computes authenticator codes (RFC 6238) for accounts with a second factor.
import { createHmac } from 'node:crypto';
import { request } from './lib.mjs';

export const demoPassword = 'Vercors-Granit-Saule-47';

export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0; let value = 0; const out = [];
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c); bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 0xff); bits -= 8; }
  }
  return Buffer.from(out);
}

export function totp(secretBase32, atMs = Date.now(), stepOffset = 0) {
  const counter = Math.floor(atMs / 1000 / 30) + stepOffset;
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', base32Decode(secretBase32)).update(message).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(code).padStart(6, '0');
}

export class Client {
  constructor(server) { this.server = server; this.cookie = ''; this.csrf = ''; }

  async call(method, path, json, { headers = {}, csrf = true } = {}) {
    const all = { ...headers };
    if (this.cookie) all.cookie = this.cookie;
    if (csrf && this.csrf && method !== 'GET') all['x-csrf-token'] = this.csrf;
    const r = await request(this.server, method, path, { json, headers: all });
    const setCookie = r.headers.get('set-cookie');
    if (setCookie) {
      const match = /guichet_session=([^;]*)/.exec(setCookie);
      this.cookie = match && match[1] ? `guichet_session=${match[1]}` : '';
    }
    if (r.body && typeof r.body.csrf_token === 'string') this.csrf = r.body.csrf_token;
    return r;
  }

  async login(email, password = demoPassword) {
    return this.call('POST', '/api/v1/session', { email, password });
  }

  /** Logs in and, for strong profiles, enrols or uses the authenticator. */
  async loginFully(email, secrets) {
    const r = await this.login(email);
    if (r.status !== 200) throw new Error(`login ${email}: ${r.status} ${r.text}`);
    if (r.body.second_factor_pending) {
      const second = await this.call('POST', '/api/v1/session/second-factor', { code: totp(secrets.get(email), Date.now(), 1) });  // the next step: the current one may be used
      if (second.status !== 200) throw new Error(`second factor ${email}: ${second.status} ${second.text}`);
    } else if (r.body.second_factor_enrolment_required) {
      const start = await this.call('POST', '/api/v1/me/second-factor', {});
      if (start.status !== 200) throw new Error(`enrol ${email}: ${start.status} ${start.text}`);
      secrets.set(email, start.body.secret);
      const confirm = await this.call('POST', '/api/v1/me/second-factor/confirm', { code: totp(start.body.secret) });
      if (confirm.status !== 200) throw new Error(`confirm ${email}: ${confirm.status} ${confirm.text}`);
    }
    return this;
  }
}
