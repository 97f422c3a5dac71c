#!/usr/bin/env node
// Proves the throwaway LemonLDAP::NG OpenID Provider end to end, without Guichet: discovery,
// authorization code + PKCE (S256) through the portal's login form as a browser would post it,
// token exchange, RS256 ID token verified against the JWKS, userinfo, and the refusals a relying
// party relies on (wrong code_verifier, code replay, missing PKCE, unknown redirect_uri, bad
// client secret), then RP-initiated logout. Node >= 20, no npm package.
//
//   node tests/support/oidc/check-flow.mjs DIR      # reads DIR/provider.env (start-provider)
//   node tests/support/oidc/check-flow.mjs DIR URI  # same, with another allowed redirect URI
//   node tests/support/oidc/check-flow.mjs          # reads OIDC_* from the environment
//
// Only ever talks to 127.0.0.1. Exits 0 when every check passes; closes on 'N passed, N failed'.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';

// ---------------------------------------------------------------- configuration
function loadEnvFile(path) {
  const out = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].replace(/^'(.*)'$/, '$1');
  }
  return out;
}
const cfg = process.argv[2] ? loadEnvFile(join(process.argv[2], 'provider.env')) : process.env;
for (const k of ['OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'OIDC_REDIRECT_URI',
                 'OIDC_USER', 'OIDC_PASSWORD']) {
  if (!cfg[k]) { console.error(`check-flow: ${k} is not set (give DIR or export OIDC_*)`); process.exit(2); }
}
const issuer = cfg.OIDC_ISSUER;
const clientId = cfg.OIDC_CLIENT_ID;
const clientSecret = cfg.OIDC_CLIENT_SECRET;
const redirectUri = process.argv[3] ?? cfg.OIDC_REDIRECT_URI;

// ---------------------------------------------------------------- small helpers
let passed = 0; let failed = 0;
function check(name, ok, detail = '') {
  if (ok) { passed++; console.log(`ok   ${name}`); }
  else { failed++; console.log(`FAIL ${name}${detail ? ' -- ' + detail : ''}`); }
  return ok;
}
function fatal(msg) {
  console.log(`FAIL ${msg}`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}
const b64url = (buf) => Buffer.from(buf).toString('base64url');
const sha256 = (s) => createHash('sha256').update(s).digest();
const ms = (t0) => `${Math.round(performance.now() - t0)} ms`;

function assertLocal(url) {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1') fatal(`refusing to contact ${u.origin}: only 127.0.0.1 is allowed`);
}

/** A browser-like cookie jar: one per simulated browser. Domain/path are ignored (one host). */
class Jar {
  constructor() { this.cookies = new Map(); }
  store(res) {
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim(); const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) ||
        attrs.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now());
      if (expired || value === '' || value === '0') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
}

async function http(jar, url, init = {}) {
  assertLocal(url);
  const headers = { 'User-Agent': 'guichet-check-flow', ...(init.headers ?? {}) };
  if (jar && jar.cookies.size) headers.Cookie = jar.header();
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  if (jar) jar.store(res);
  return res;
}

/** Parses the portal's login form: action, method and every input's name/value. */
function parseLoginForm(html, pageUrl) {
  const form = /<form\b[^>]*\bid="lform"[^>]*>([\s\S]*?)<\/form>/i.exec(html) ??
               /<form\b[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return null;
  const attr = (tag, name) => {
    const m = new RegExp(`\\b${name}="([^"]*)"`, 'i').exec(tag);
    return m ? m[1].replace(/&amp;/g, '&').replace(/&quot;/g, '"') : undefined;
  };
  const openTag = /<form\b[^>]*>/i.exec(form[0])[0];
  const action = attr(openTag, 'action') ?? '';
  const u = new URL(pageUrl); u.hash = '';
  const target = action === '' || action === '#' ? u.toString() : new URL(action, u).toString();
  const fields = {};
  for (const m of form[1].matchAll(/<input\b[^>]*>/gi)) {
    const name = attr(m[0], 'name'); if (!name) continue;
    const type = (attr(m[0], 'type') ?? 'text').toLowerCase();
    if (type === 'checkbox' || type === 'radio') continue; // unchecked
    fields[name] = attr(m[0], 'value') ?? '';
  }
  return { action: target, method: (attr(openTag, 'method') ?? 'get').toUpperCase(), fields };
}

/**
 * Runs the front-channel part of the flow like a browser: GET the authorize URL, fill and POST
 * the login form when the portal shows one, follow redirects until the one to redirect_uri.
 * Returns { params: URLSearchParams of the redirect, sawLoginForm, trace }.
 */
async function authorize(jar, discovery, { user, password, extra = {} } = {}) {
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(16));
  const nonce = b64url(randomBytes(16));
  const q = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri,
    scope: 'openid email profile', state, nonce,
    code_challenge: b64url(sha256(verifier)), code_challenge_method: 'S256', ...extra,
  });
  for (const [k, v] of Object.entries(extra)) if (v === undefined) q.delete(k);
  let url = `${discovery.authorization_endpoint}?${q}`;
  const trace = [];
  let sawLoginForm = false;
  let res = await http(jar, url);
  for (let hop = 0; hop < 10; hop++) {
    trace.push(`${res.status} ${url.replace(/\?.*/, '?…')}`);
    if (res.status >= 300 && res.status < 400) {
      const loc = new URL(res.headers.get('location'), url).toString();
      if (loc.startsWith(redirectUri)) {
        const u = new URL(loc);
        return { params: u.searchParams, verifier, state, nonce, sawLoginForm, trace };
      }
      url = loc; res = await http(jar, url); continue;
    }
    const html = await res.text();
    const form = parseLoginForm(html, url);
    if (res.status === 200 && form && 'user' in form.fields && 'password' in form.fields) {
      if (sawLoginForm) {
        // The form again: login refused. The message text is filled in by the portal's
        // JavaScript from a code: <span trmsg="5"> is PE_BADCREDENTIALS.
        const code = /\btrmsg="(\d+)"/.exec(html);
        return { params: null, status: res.status, loginRefused: true, portalMessage: code ? `trmsg=${code[1]}` : '', trace, sawLoginForm };
      }
      if (user === undefined) {
        return { params: null, status: res.status, unexpectedLoginForm: true, trace, sawLoginForm: true };
      }
      sawLoginForm = true;
      const body = new URLSearchParams({ ...form.fields, user, password });
      url = form.action;
      res = await http(jar, url, {
        method: 'POST', body,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
      continue;
    }
    // An error page: the message is a code (<span trmsg="108">, PE_UNAUTHORIZEDURL) that the
    // portal's JavaScript translates.
    const err = /\btrmsg="(\d+)"/.exec(html);
    return { params: null, status: res.status, html, portalMessage: err ? `trmsg=${err[1]}` : '', trace, sawLoginForm };
  }
  throw new Error('too many redirects: ' + trace.join(' -> '));
}

async function exchange(discovery, code, verifier, { auth = 'basic', secret = clientSecret } = {}) {
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri });
  if (verifier !== undefined) body.set('code_verifier', verifier);
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' };
  if (auth === 'basic') {
    // RFC 6749 §2.3.1: form-urlencode id and secret before base64.
    headers.Authorization = 'Basic ' +
      Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64');
  } else {
    body.set('client_id', clientId); body.set('client_secret', secret);
  }
  const res = await http(null, discovery.token_endpoint, { method: 'POST', body, headers });
  const text = await res.text();
  let json; try { json = JSON.parse(text); } catch { json = { raw: text }; }
  return { status: res.status, json };
}

/** A further authorization on the SSO session of `jar`: no form expected; stops if one comes. */
async function silentAuthorize(jar, discovery, extra = {}) {
  const r = await authorize(jar, discovery, { extra });
  if (!r.params?.get('code')) fatal(`silent authorization failed: ${r.trace.join(' -> ')}`);
  return r;
}

function decodeJwt(jwt) {
  const [h, p, s] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), payload: JSON.parse(Buffer.from(p, 'base64url')),
           signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
}

function verifyIdToken(idToken, jwks, nonce) {
  const t = decodeJwt(idToken);
  check('ID token header alg is RS256', t.header.alg === 'RS256', JSON.stringify(t.header));
  const jwk = jwks.keys.find((k) => (t.header.kid ? k.kid === t.header.kid : true) && k.kty === 'RSA');
  if (!check('ID token kid found in JWKS', !!jwk, `kid=${t.header.kid}`)) return t;
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  check('ID token RS256 signature verifies against the JWKS key',
        verify('sha256', Buffer.from(t.signingInput), key, t.signature));
  const tampered = Buffer.from(t.signingInput.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')));
  check('a tampered ID token does not verify', !verify('sha256', tampered, key, t.signature));
  const now = Math.floor(Date.now() / 1000);
  const c = t.payload;
  check('iss equals the issuer', c.iss === issuer, `${c.iss} vs ${issuer}`);
  const aud = Array.isArray(c.aud) ? c.aud : [c.aud];
  check('aud contains client_id', aud.includes(clientId), JSON.stringify(c.aud));
  if (aud.length > 1) check('azp is client_id when several audiences', c.azp === clientId);
  check('exp is in the future', typeof c.exp === 'number' && c.exp > now, `exp=${c.exp} now=${now}`);
  check('iat is not in the future (60 s skew)', typeof c.iat === 'number' && c.iat <= now + 60);
  check('nonce matches', c.nonce === nonce, `${c.nonce} vs ${nonce}`);
  return t;
}

// ---------------------------------------------------------------- the flow
const tStart = performance.now();
assertLocal(issuer);
let t0 = performance.now();
const discRes = await http(null, `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
if (!discRes.ok) fatal(`discovery: HTTP ${discRes.status}`);
const discovery = await discRes.json();
check(`discovery fetched (${ms(t0)})`, true);
check('discovery issuer equals OIDC_ISSUER', discovery.issuer === issuer, `${discovery.issuer}`);
check('S256 advertised in code_challenge_methods_supported',
      (discovery.code_challenge_methods_supported ?? []).includes('S256'));
for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint', 'end_session_endpoint']) {
  assertLocal(discovery[k]);
  console.log(`     ${k} = ${discovery[k]}`);
}
const jwks = await (await http(null, discovery.jwks_uri)).json();
check('JWKS has an RSA signing key', jwks.keys?.some((k) => k.kty === 'RSA' && k.n && k.e));

// 1. Login of the first user through the form, then the code exchange.
const browser = new Jar();
t0 = performance.now();
const a = await authorize(browser, discovery, { user: cfg.OIDC_USER, password: cfg.OIDC_PASSWORD });
console.log(`     front channel: ${a.trace.join(' -> ')}`);
if (!a.params) {
  fatal(`no redirect to redirect_uri (HTTP ${a.status}, ${a.portalMessage || 'no message code'}; ` +
        'trmsg=108 is an unregistered redirect_uri, trmsg=5 refused credentials)');
}
check(`login form filled and posted, redirected to redirect_uri (${ms(t0)})`, a.sawLoginForm);
check('redirect carries no error', !a.params.get('error'), a.params.get('error_description') ?? a.params.get('error'));
check('redirect state matches', a.params.get('state') === a.state);
const code = a.params.get('code');
if (!check('redirect carries a code', !!code)) fatal('no code');
// The LemonLDAP::NG SSO cookie is what makes the second authorization silent.
check('portal set its SSO cookie (llngtest)', browser.cookies.has('llngtest'), [...browser.cookies.keys()].join(','));

t0 = performance.now();
const tok = await exchange(discovery, code, a.verifier, { auth: 'basic' });
check(`token endpoint accepts code + code_verifier, client_secret_basic (${ms(t0)})`, tok.status === 200,
      `HTTP ${tok.status} ${JSON.stringify(tok.json)}`);
if (tok.status !== 200) fatal('token exchange failed');
check('token_type is Bearer', /^bearer$/i.test(tok.json.token_type ?? ''));
const idt = verifyIdToken(tok.json.id_token, jwks, a.nonce);
if (idt.payload.at_hash) {
  check('at_hash matches the access token',
        idt.payload.at_hash === b64url(sha256(tok.json.access_token).subarray(0, 16)));
}
console.log('     ID token header: ' + JSON.stringify(idt.header));
console.log('     ID token claims: ' + JSON.stringify(idt.payload));

t0 = performance.now();
const uiRes = await http(null, discovery.userinfo_endpoint, { headers: { Authorization: `Bearer ${tok.json.access_token}` } });
const userinfo = await uiRes.json();
check(`userinfo answers (${ms(t0)})`, uiRes.status === 200, `HTTP ${uiRes.status}`);
console.log('     userinfo claims: ' + JSON.stringify(userinfo));
check('userinfo sub equals ID token sub', userinfo.sub === idt.payload.sub);
for (const [claim, expected] of [['email', cfg.OIDC_EMAIL], ['given_name', cfg.OIDC_GIVEN_NAME], ['family_name', cfg.OIDC_FAMILY_NAME]]) {
  check(`userinfo ${claim} is ${expected ?? '(present)'}`, expected ? userinfo[claim] === expected : !!userinfo[claim], userinfo[claim]);
}
const uiBad = await http(null, discovery.userinfo_endpoint, { headers: { Authorization: 'Bearer not-a-token' } });
check('userinfo refuses a bogus access token', uiBad.status === 401 || uiBad.status === 400, `HTTP ${uiBad.status}`);

// 2. Replaying the code is refused.
const replay = await exchange(discovery, code, a.verifier);
check('the same code cannot be exchanged twice', replay.status === 400 && replay.json.error === 'invalid_grant',
      `HTTP ${replay.status} ${JSON.stringify(replay.json)}`);

// 3. Wrong code_verifier (the SSO session makes this authorization silent: no form).
const b = await silentAuthorize(browser, discovery);
check('second authorization is silent (SSO session, no login form)', !b.sawLoginForm);
const wrong = await exchange(discovery, b.params.get('code'), b64url(randomBytes(32)));
check('a wrong code_verifier is refused (400 invalid_grant)', wrong.status === 400 && wrong.json.error === 'invalid_grant',
      `HTTP ${wrong.status} ${JSON.stringify(wrong.json)}`);
const after = await exchange(discovery, b.params.get('code'), b.verifier);
check('the code is burnt by the failed attempt (right verifier now refused too)', after.status === 400,
      `HTTP ${after.status}`);

// 4. No code_verifier at all.
const c = await silentAuthorize(browser, discovery);
const none = await exchange(discovery, c.params.get('code'), undefined);
check('a missing code_verifier is refused', none.status === 400, `HTTP ${none.status} ${JSON.stringify(none.json)}`);

// 5. client_secret_post works; a wrong secret is refused.
const d = await silentAuthorize(browser, discovery);
const badSecret = await exchange(discovery, d.params.get('code'), d.verifier, { secret: 'wrong' });
check('a wrong client secret is refused', badSecret.status === 401 || badSecret.status === 400,
      `HTTP ${badSecret.status} ${JSON.stringify(badSecret.json)}`);
const e = await silentAuthorize(browser, discovery);
const post = await exchange(discovery, e.params.get('code'), e.verifier, { auth: 'post' });
check('client_secret_post is accepted too', post.status === 200, `HTTP ${post.status} ${JSON.stringify(post.json)}`);

// 6. Authorization requests the provider must refuse.
const noPkce = await authorize(browser, discovery, { extra: { code_challenge: undefined, code_challenge_method: undefined } });
check('an authorization request without code_challenge is refused',
      !noPkce.params?.get('code'), noPkce.params ? noPkce.params.toString() : `HTTP ${noPkce.status}`);
console.log(`     (refused with: ${noPkce.params ? noPkce.params.toString() : `HTTP ${noPkce.status} page, "${noPkce.portalMessage}"`})`);
const badRedirect = await (async () => {
  const q = new URLSearchParams({ response_type: 'code', client_id: clientId, scope: 'openid',
    redirect_uri: 'http://127.0.0.1:1/evil', state: 's', nonce: 'n',
    code_challenge: b64url(sha256('x'.repeat(43))), code_challenge_method: 'S256' });
  const r = await http(browser, `${discovery.authorization_endpoint}?${q}`);
  return { status: r.status, location: r.headers.get('location') };
})();
check('an unregistered redirect_uri is refused (no redirect to it)',
      !(badRedirect.location ?? '').startsWith('http://127.0.0.1:1/'), JSON.stringify(badRedirect));

// 7. The second user, in a fresh browser.
const browser2 = new Jar();
if (cfg.OIDC_USER2) {
  const f = await authorize(browser2, discovery, { user: cfg.OIDC_USER2, password: cfg.OIDC_PASSWORD2 });
  const t2 = f.params ? await exchange(discovery, f.params.get('code'), f.verifier) : { status: 0, json: {} };
  const c2 = t2.json.id_token ? decodeJwt(t2.json.id_token).payload : {};
  check(`second user ${cfg.OIDC_USER2} logs in, ID token email ${c2.email}`,
        t2.status === 200 && c2.email === cfg.OIDC_EMAIL2 && c2.given_name === cfg.OIDC_GIVEN_NAME2);
}
const badLogin = await authorize(new Jar(), discovery, { user: cfg.OIDC_USER, password: 'wrong-password' });
check(`a wrong password gets the form again, no code (HTTP ${badLogin.status}, ${badLogin.portalMessage})`,
      badLogin.loginRefused && !badLogin.params);

// 7b. Not a requirement, a fact the relying party must live with: LemonLDAP::NG 2.16 cannot be
// told to refuse the "plain" method, so the RP itself must always send S256.
const plainVerifier = b64url(randomBytes(32));
const p = await silentAuthorize(browser, discovery, { code_challenge: plainVerifier, code_challenge_method: 'plain' });
const plainTok = p.params?.get('code') ? await exchange(discovery, p.params.get('code'), plainVerifier) : { status: 0 };
console.log(`note code_challenge_method=plain is ${plainTok.status === 200 ? 'ACCEPTED' : 'refused'} by the provider (HTTP ${plainTok.status})`);

// 8. RP-initiated logout, then the login form is back.
const q = new URLSearchParams({ id_token_hint: tok.json.id_token, post_logout_redirect_uri: redirectUri, state: 'bye' });
const lo = await http(browser, `${discovery.end_session_endpoint}?${q}`);
const loLoc = lo.headers.get('location') ?? '';
check('end_session redirects to post_logout_redirect_uri with state',
      lo.status === 302 && loLoc.startsWith(redirectUri) && new URL(loLoc).searchParams.get('state') === 'bye',
      `HTTP ${lo.status} ${loLoc}`);
const g = await authorize(browser, discovery, { user: cfg.OIDC_USER, password: cfg.OIDC_PASSWORD });
check('after logout the login form is shown again', g.sawLoginForm && !!g.params?.get('code'));

console.log(`     total ${ms(tStart)}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
