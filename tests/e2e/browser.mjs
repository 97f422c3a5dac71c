// Shared set-up for the browser tests: the real `guichet` binary serving web/dist, driven by
// Debian's Chromium through playwright-core. Both packages come from web/node_modules, so
// tests/e2e needs no install of its own (`npm ci` in web/ is enough).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before } from 'node:test';
import { startServer } from '../support/server.mjs';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const launchArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-quic',
];
const actionTimeoutMs = 10_000;

export const desktop = { width: 1280, height: 800 };
export const phone = { width: 360, height: 740 };

/**
 * Starts one server and one browser for the enclosing describe() and stops both afterwards,
 * whether or not its tests passed. Tests read `suite.server` and `suite.browser`.
 * `serverOptions` go to startServer (`demo: true`, `env`…).
 */
export function useServerAndBrowser(backend, serverOptions = {}) {
  const suite = { server: undefined, browser: undefined };
  before(async () => {
    suite.server = await startServer({ ...serverOptions, backend });
    suite.browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: launchArgs });
  });
  after(async () => {
    await suite.browser?.close();
    await suite.server?.stop();
  });
  return suite;
}

/**
 * Runs `fn(page)` in a fresh browser context (own storage, so languages chosen in one test do
 * not leak into the next), then fails if the page logged a console error, threw, or broke the
 * Content-Security-Policy. `allowConsole` lists patterns of errors a test provokes on purpose.
 */
export async function withPage(browser, options, fn) {
  const context = await browser.newContext({
    locale: options.locale ?? 'fr-FR',
    viewport: options.viewport ?? desktop,
  });
  context.setDefaultTimeout(actionTimeoutMs);
  const problems = [];
  const allowed = options.allowConsole ?? [];
  try {
    // The CSP reports to the page itself; forward those events out of the browser. Init scripts
    // and bindings go through the DevTools protocol, so the CSP does not block them.
    await context.exposeBinding('reportCspViolation', (_source, text) =>
      problems.push(`CSP violation: ${text}`));
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        window.reportCspViolation(
          `${event.violatedDirective} blocked ${event.blockedURI || 'inline'} ` +
          `(${event.sourceFile}:${event.lineNumber})`);
      });
    });
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const text = message.text();
      if (!allowed.some((pattern) => pattern.test(text))) problems.push(`console error: ${text}`);
    });
    page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
    await fn(page);
    assert.deepEqual(problems, [], 'the page logged errors or CSP violations');
  } finally {
    await context.close();
  }
}

/** Waits until <html lang> is `lang` (the app sets it after rendering). */
export async function waitForLang(page, lang) {
  await page.waitForFunction((expected) => document.documentElement.lang === expected, lang);
}

/** Waits until the status panel has finished its first call, whatever the outcome. */
export async function waitForStatusPanel(page) {
  await page.locator('.status-panel[aria-busy="false"]').first().waitFor();
}

/**
 * Runs axe-core on the current page and returns the serious and critical violations as
 * readable lines. axe is evaluated through the DevTools protocol rather than added as a
 * <script> element: the server's CSP (script-src 'self') rightly blocks inline scripts.
 */
export async function seriousA11yViolations(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const results = await page.evaluate(() => window.axe.run(document));
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.impact} ${violation.id}: ${violation.help} — ` +
      violation.nodes.map((node) => node.target.join(' ')).join(', '));
}

/** True when the page is wider than the viewport, i.e. the reader must scroll sideways. */
export async function scrollsHorizontally(page) {
  return page.evaluate(() =>
    document.documentElement.scrollWidth > document.documentElement.clientWidth);
}

/** The main heading of the page, which every route renders as its one <h1>. */
export function mainHeading(page, name) {
  return page.getByRole('heading', { level: 1, name, exact: true });
}

/** Every screen of the app with its main heading in each language. */
export const appPages = [
  { path: '/', fr: 'Bienvenue sur Guichet', en: 'Welcome to Guichet', hasStatus: true },
  { path: '/wallet', fr: 'Porte-monnaie étudiant', en: 'Student wallet' },
  { path: '/pass', fr: 'Pass touristique', en: 'Tourist pass' },
  { path: '/family', fr: 'Portail famille', en: 'Family portal' },
  { path: '/status', fr: 'État du service', en: 'Service status', hasStatus: true },
  { path: '/till', fr: 'Caisse', en: 'Till' },
  { path: '/login', fr: 'Connexion', en: 'Log in' },
  { path: '/forgot-password', fr: 'Mot de passe oublié', en: 'Forgotten password' },
  { path: '/reset-password', fr: 'Choisir un nouveau mot de passe', en: 'Choose a new password' },
  { path: '/no/such/page', fr: 'Page introuvable', en: 'Page not found' },
];

export const browserLocales = { fr: 'fr-FR', en: 'en-GB' };

/** Opens `entry` and waits until it is fully rendered in `lang`. */
export async function openAppPage(page, baseUrl, entry, lang) {
  await page.goto(baseUrl + entry.path);
  await mainHeading(page, entry[lang]).waitFor();
  await waitForLang(page, lang);
  if (entry.hasStatus) await waitForStatusPanel(page);
}
