// Shared by the browser tests of the settlement, reconciliation and offline screens.
import { Till } from '../../tools/pos-sim/lib.mjs';
import { approvedPoint } from '../../tools/pos-sim/provision.mjs';

/**
 * Puts an API session (a tests/api/identity_client.mjs Client, logged in with its second factor)
 * into the page's browser context, with the hint the app keeps that a session exists.
 */
export async function useStaffSession(page, baseUrl, client) {
  const [name, value] = client.cookie.split('=');
  await page.context().addCookies([{ name, value, url: baseUrl }]);
  await page.context().addInitScript(() => localStorage.setItem('guichet.session', '1'));
}

/** An approved point of `merchant` with `permissions`, and a Till (pos-sim) paired with it. */
export async function pairedPoint(staff, merchant, { tag, permissions, location }) {
  const { point, code } = await approvedPoint(staff, merchant, { tag, permissions, location });
  const till = new Till({ url: staff.server.url });
  await till.pair(code);
  return { point, till };
}

/** Waits until no live region of the page says it is loading. */
export async function waitForLoaded(page) {
  await page.waitForFunction(() => ![...document.querySelectorAll('[role="status"]')]
    .some((element) => /Loading|Chargement/.test(element.textContent ?? '')));
}
