// Helpers for the browser tests of the identity screens: the demo accounts, authenticator
// codes computed as an app would (RFC 6238), logging in through the pages, and a small API
// client to prepare accounts without going through the screens.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mainHeading } from './browser.mjs';

export const demoPassword = 'Vercors-Granit-Saule-47';
export const demo = (name) => `${name}@demo.guichet.fr`;

/** Cheap Argon2id parameters: the tests log in dozens of times. */
export const identityServer = {
  demo: true,
  env: { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' },
};

export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0; let value = 0; const bytes = [];
  for (const char of text.replace(/[\s=]/g, '').toUpperCase()) {
    const index = alphabet.indexOf(char);
    assert.ok(index >= 0, `not base32: ${text}`);
    value = (value << 5) | index; bits += 5;
    if (bits >= 8) { bytes.push((value >>> (bits - 8)) & 0xff); bits -= 8; }
  }
  return Buffer.from(bytes);
}

/** The 6-digit code of `secret` for the 30-second step `stepOffset` steps from now. */
export function totp(secret, stepOffset = 0, atMs = Date.now()) {
  const counter = Math.floor(atMs / 30_000) + stepOffset;
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', base32Decode(secret)).update(message).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** What the login screens say, per language. */
export const words = {
  fr: {
    login: 'Connexion', email: 'Adresse e-mail', password: 'Mot de passe', submit: 'Se connecter',
    secondTitle: 'Vérification en deux étapes', code: 'Code de l’application',
    recovery: 'Code de secours', useRecovery: 'Utiliser un code de secours', validate: 'Valider',
    enrolTitle: 'Application d’authentification', account: 'Mon compte', logout: 'Se déconnecter',
    staff: 'Personnel', home: 'Bienvenue sur Guichet',
  },
  en: {
    login: 'Log in', email: 'E-mail address', password: 'Password', submit: 'Log in',
    secondTitle: 'Two-step verification', code: 'App code',
    recovery: 'Recovery code', useRecovery: 'Use a recovery code', validate: 'Continue',
    enrolTitle: 'Authenticator app', account: 'My account', logout: 'Log out',
    staff: 'Staff', home: 'Welcome to Guichet',
  },
};

/** Fills and sends the login form (the page must show it, or `path` is opened first). */
export async function submitLogin(page, email, { password = demoPassword, lang = 'fr' } = {}) {
  const w = words[lang];
  await mainHeading(page, w.login).waitFor();
  await page.getByLabel(w.email, { exact: true }).fill(email);
  await page.getByLabel(w.password, { exact: true }).fill(password);
  await page.getByRole('main').getByRole('button', { name: w.submit, exact: true }).click();
}

/** Opens the login page and logs in with the password only. */
export async function logIn(page, baseUrl, email, options = {}) {
  await page.goto(baseUrl + '/login');
  await submitLogin(page, email, options);
}

/** Waits until the element of `locator` has the focus (focus moves after the render). */
export async function waitForFocus(locator) {
  const element = await locator.elementHandle();
  await locator.page().waitForFunction((el) => el === document.activeElement, element);
}

/** The header button that opens the account menu, named after the person. */
export function userMenuButton(page, displayName) {
  return page.getByRole('banner').getByRole('button', { name: displayName });
}

/** Logs out through the header menu and waits for the login page. */
export async function logOutThroughMenu(page, displayName, lang = 'fr') {
  const w = words[lang];
  await userMenuButton(page, displayName).click();
  await page.getByRole('banner').getByRole('button', { name: w.logout, exact: true }).click();
  await mainHeading(page, w.login).waitFor();
}

/** A browser-like API client (cookie and CSRF token) to prepare accounts for a test. */
export class ApiClient {
  constructor(baseUrl) { this.baseUrl = baseUrl; this.cookie = ''; this.csrf = ''; }

  async call(method, path, body) {
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.cookie) headers.cookie = this.cookie;
    if (method !== 'GET' && this.csrf) headers['x-csrf-token'] = this.csrf;
    const response = await fetch(this.baseUrl + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const match = /guichet_session=([^;]*)/.exec(response.headers.get('set-cookie') ?? '');
    if (match) this.cookie = match[1] ? `guichet_session=${match[1]}` : '';
    const text = await response.text();
    const json = text ? JSON.parse(text) : undefined;
    if (typeof json?.csrf_token === 'string') this.csrf = json.csrf_token;
    return { status: response.status, body: json };
  }

  /** Logs in and sets up the authenticator app; returns its secret. */
  async enrol(email) {
    const login = await this.call('POST', '/api/v1/session', { email, password: demoPassword });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    const start = await this.call('POST', '/api/v1/me/second-factor', {});
    assert.equal(start.status, 200, JSON.stringify(start.body));
    const confirm = await this.call('POST', '/api/v1/me/second-factor/confirm',
      { code: totp(start.body.secret) });
    assert.equal(confirm.status, 200, JSON.stringify(confirm.body));
    return start.body.secret;
  }
}
