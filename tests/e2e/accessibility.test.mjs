// Every screen, in both languages: no serious or critical axe-core finding, no sideways scroll
// on a small phone (WCAG 1.4.10 reflow), and a working skip link.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backends } from '../support/server.mjs';
import {
  appPages, browserLocales, mainHeading, openAppPage, phone, scrollsHorizontally,
  seriousA11yViolations, useServerAndBrowser, withPage,
} from './browser.mjs';

for (const backend of backends()) {
  describe(`accessibility (${backend})`, () => {
    const suite = useServerAndBrowser(backend);

    for (const lang of ['fr', 'en']) {
      test(`axe finds no serious or critical violation on any page in ${lang}`, async () => {
        await withPage(suite.browser, { locale: browserLocales[lang] }, async (page) => {
          const found = [];
          for (const entry of appPages) {
            await openAppPage(page, suite.server.url, entry, lang);
            for (const violation of await seriousA11yViolations(page)) {
              found.push(`${entry.path}: ${violation}`);
            }
          }
          assert.deepEqual(found, []);
        });
      });

      test(`every page fits a 360px wide screen in ${lang}`, async () => {
        await withPage(suite.browser, { locale: browserLocales[lang], viewport: phone },
          async (page) => {
            const tooWide = [];
            for (const entry of appPages) {
              await openAppPage(page, suite.server.url, entry, lang);
              if (await scrollsHorizontally(page)) tooWide.push(entry.path);
            }
            assert.deepEqual(tooWide, []);
          });
      });
    }

    test('the status error state has no serious axe violation', async () => {
      await withPage(suite.browser, { locale: 'fr-FR', allowConsole: [/status of 500/] },
        async (page) => {
          await page.route('**/api/v1/system/status', (route) => route.fulfill({
            status: 500, contentType: 'application/problem+json',
            body: JSON.stringify({ title: 'Internal Server Error', detail: 'Boom.' }),
          }));
          await page.goto(suite.server.url + '/status');
          await page.getByRole('alert').waitFor();
          assert.deepEqual(await seriousA11yViolations(page), []);
        });
    });

    test('keyboard users can skip straight to the content', async () => {
      await withPage(suite.browser, { locale: 'en-GB' }, async (page) => {
        await page.goto(suite.server.url + '/');
        await mainHeading(page, 'Welcome to Guichet').waitFor();
        await page.keyboard.press('Tab');
        const skip = page.getByRole('link', { name: 'Skip to content' });
        assert.equal(await skip.evaluate((link) => link === document.activeElement), true);
        assert.ok(await skip.isVisible(), 'the focused skip link must be visible');
        await page.keyboard.press('Enter');
        await page.waitForFunction(() => document.activeElement?.id === 'main');
      });
    });
  });
}
