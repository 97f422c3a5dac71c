// The LemonLDAP::NG test provider (start-provider, stop-provider) for Guichet's API and browser
// tests of the OpenID Connect login, and a browser-like client for it: a cookie jar and the
// portal's login form posted as check-flow.mjs does. Node >= 20, no npm package.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../server.mjs';

const scripts = join(projectRoot, 'tests/support/oidc');

// What start-provider needs; scripts/install-deps installs them (make test).
const packages = [
  'liblemonldap-ng-portal-perl', 'lemonldap-ng-fastcgi-server', 'nginx',
  'libcrypt-openssl-bignum-perl', 'libgd-securityimage-perl', 'libimage-magick-perl',
  'libstring-random-perl', 'libio-string-perl', 'openssl', 'curl',
];

/** The provider packages not installed here (empty: the provider tests can run). */
export function missingProviderPackages() {
  return packages.filter((name) => {
    try {
      const status = execFileSync('dpkg-query', ['-W', '-f=${Status}', name], { stdio: 'pipe' });
      return !status.toString().includes('install ok installed');
    } catch {
      return true;
    }
  });
}

/** Why the provider tests are skipped, or false when they can run. */
export function providerSkipReason() {
  const missing = missingProviderPackages();
  return missing.length === 0 ? false
    : `OpenID provider packages missing (${missing.join(' ')}): run scripts/install-deps`;
}

/** A free TCP port on 127.0.0.1 (Guichet's callback URL must be known before it starts). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function parseEnv(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match) out[match[1]] = match[2].replace(/^'(.*)'$/, '$1');
  }
  return out;
}

/**
 * Starts a provider allowing `redirectUris`; returns its OIDC_* values, the Guichet settings
 * that point at it, and stop().
 */
export function startProvider(redirectUris) {
  const dir = mkdtempSync(join(tmpdir(), 'llng-'));
  try {
    execFileSync(join(scripts, 'start-provider'), [dir, ...redirectUris], { stdio: 'pipe' });
  } catch (error) {
    const stop = () => execFileSync(join(scripts, 'stop-provider'), [dir], { stdio: 'pipe' });
    try { stop(); } catch { /* nothing was started */ }
    throw new Error(`start-provider failed: ${error.stderr?.toString() ?? error.message}`);
  }
  const env = parseEnv(readFileSync(join(dir, 'provider.env'), 'utf8'));
  return {
    dir, env,
    guichetEnv: (redirectUri) => ({
      GUICHET_OIDC_ISSUER: env.OIDC_ISSUER,
      GUICHET_OIDC_CLIENT_ID: env.OIDC_CLIENT_ID,
      GUICHET_OIDC_CLIENT_SECRET: env.OIDC_CLIENT_SECRET,
      GUICHET_OIDC_REDIRECT_URI: redirectUri,
      GUICHET_OIDC_DISPLAY_NAME: 'LemonLDAP::NG',
    }),
    stop: () => execFileSync(join(scripts, 'stop-provider'), [dir], { stdio: 'pipe' }),
  };
}

/**
 * One simulated browser's cookies. Provider and Guichet share the host 127.0.0.1, and browsers
 * do not separate cookies by port: one jar for both, as a browser would have. Paths are
 * honoured (Guichet's guichet_oidc cookie is for /api/v1/oidc only).
 */
export class Jar {
  constructor() { this.cookies = new Map(); }

  store(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const path = attributes.map((a) => /^\s*path=(.*)$/i.exec(a)?.[1]).find(Boolean) ?? '/';
      const expired = attributes.some((a) => /^\s*max-age=(0|-\d+)\s*$/i.test(a)) ||
        attributes.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now());
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, { value, path: path.trim() });
    }
  }

  get(name) { return this.cookies.get(name)?.value; }

  header(url) {
    const { pathname } = new URL(url);
    return [...this.cookies].filter(([, c]) => pathname.startsWith(c.path))
      .map(([name, c]) => `${name}=${c.value}`).join('; ');
  }
}

/** GET or POST without following redirects, with the jar's cookies; only 127.0.0.1. */
export async function browse(jar, url, init = {}) {
  if (new URL(url).hostname !== '127.0.0.1') throw new Error(`refusing to contact ${url}`);
  const headers = { ...(init.headers ?? {}) };
  const cookie = jar?.header(url);
  if (cookie) headers.cookie = cookie;
  const response = await fetch(url, {
    ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(10_000),
  });
  jar?.store(response);
  return response;
}

/** The portal's login form: where it posts and every input with its value. */
function parseLoginForm(html, pageUrl) {
  const form = /<form\b[^>]*\bid="lform"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return null;
  const attr = (tag, name) => {
    const match = new RegExp(`\\b${name}="([^"]*)"`, 'i').exec(tag);
    return match ? match[1].replace(/&amp;/g, '&').replace(/&quot;/g, '"') : undefined;
  };
  const openTag = /<form\b[^>]*>/i.exec(form[0])[0];
  const action = attr(openTag, 'action') ?? '';
  const page = new URL(pageUrl);
  page.hash = '';
  // action="#": the page's own URL, query string included.
  const target = action === '' || action === '#' ? page.toString() : new URL(action, page).toString();
  const fields = {};
  for (const input of form[1].matchAll(/<input\b[^>]*>/gi)) {
    const name = attr(input[0], 'name');
    const type = (attr(input[0], 'type') ?? 'text').toLowerCase();
    if (name && type !== 'checkbox' && type !== 'radio') fields[name] = attr(input[0], 'value') ?? '';
  }
  return { action: target, fields };
}

/**
 * Goes through the provider as a person would, from the authorization URL Guichet redirected
 * to: fills the login form when one is shown (none with an SSO session), and stops at the
 * redirect back to `redirectUri`. Returns { callbackUrl } or { refused, portalMessage }.
 */
export async function signInAtProvider(jar, authorizeUrl, redirectUri, { user, password }) {
  let url = authorizeUrl;
  let response = await browse(jar, url);
  let posted = false;
  for (let hop = 0; hop < 10; hop += 1) {
    if (response.status >= 300 && response.status < 400) {
      const location = new URL(response.headers.get('location'), url).toString();
      if (location.startsWith(redirectUri)) return { callbackUrl: location, sawForm: posted };
      url = location;
      response = await browse(jar, url);
      continue;
    }
    const html = await response.text();
    const form = parseLoginForm(html, url);
    const message = /\btrmsg="(\d+)"/.exec(html)?.[1];
    // A wrong password shows the form again (200, trmsg="5"); an error page has no form.
    if (!form || posted) return { refused: true, status: response.status, portalMessage: message };
    posted = true;
    url = form.action;
    response = await browse(jar, url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...form.fields, user, password }),
    });
  }
  throw new Error('too many redirects at the provider');
}
