// Sets up what a simulated till needs on a server loaded with the demo data (`guichet demo`):
// the demo regional administrator declares a merchant and approved points, whose pairing codes
// pair new Tills; the demo manager creates funded holders. Used by the CLI (`provision`,
// `load-test`), tools/pos-sim/demo.sh and bench/pos_debits.mjs.
//
// The demo administrators must enrol a second factor at their first login: the TOTP secrets are
// kept in `secrets` (a Map; the CLI keeps it in a file) so that later runs can log in again.
import { Client } from '../../tests/api/identity_client.mjs';
import { Till } from './lib.mjs';

export const REGIONAL_ADMIN = 'regional.admin@demo.guichet.fr';
export const MANAGER = 'manager@demo.guichet.fr';
export const DEMO_INSTITUTION = 'Crous Grenoble Alpes';
/** Every permission a till of the simulator may use (token counters: MEAL of the demo). */
export const TILL_PERMISSIONS = ['clock_check', 'debit', 'cancel', 'cash_reload', 'offline', 'load:MEAL', 'debit:MEAL'];
const iban = 'FR7630006000011234567890189';

function expect(r, status, what) {
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${r.text}`);
  return r.body;
}

/** The demo's staff clients and the organisations a till needs. */
export async function demoStaff(url, secrets = new Map()) {
  const server = { url };
  const admin = await new Client(server).loginFully(REGIONAL_ADMIN, secrets);
  const manager = await new Client(server).loginFully(MANAGER, secrets);
  const organisations = expect(await admin.call('GET', '/api/v1/organisations'), 200, 'organisations').organisations;
  const region = organisations.find((o) => o.kind === 'region');
  const institution = organisations.find((o) => o.name === DEMO_INSTITUTION);
  return { server, admin, manager, region, institution, secrets };
}

/** A merchant of the demo region. */
export async function createMerchant(staff, name) {
  return expect(await staff.admin.call('POST', '/api/v1/wallet/merchants', {
    region_id: staff.region.id, name, iban, bic: 'AGRIFRPP', commission_bp: 150, contact_email: 'ru@example.org' }),
  201, 'merchant');
}

/** Declares and approves one point; answers {point, code} (the pairing code, 15 minutes). */
export async function approvedPoint(staff, merchant, { tag, permissions = TILL_PERMISSIONS, location } = {}) {
  const point = expect(await staff.admin.call('POST', '/api/v1/wallet/points', {
    merchant_id: merchant.id, institution_id: tag, location: location ?? `Crous-UGA-RU-Sim-${tag.replace(/[^A-Za-z0-9]/g, '')}`.slice(0, 60),
    address: '1 rue Diderot, Grenoble', type: 'till', permissions }), 201, 'point');
  const approved = expect(await staff.admin.call('POST', `/api/v1/wallet/points/${point.id}/approve`, {}), 200, 'approval');
  return { point: approved.point, code: approved.pairing.code };
}

/** `count` paired Tills (in memory unless `statePath(i)` names a file). */
export async function pairedTills(staff, merchant, count, { prefix = 'SIM', permissions, statePath } = {}) {
  const tills = [];
  for (let i = 0; i < count; i += 1) {
    const { code } = await approvedPoint(staff, merchant, { tag: `${prefix}-${i}`, permissions, location: `Crous-UGA-RU-${prefix.replace(/[^A-Za-z0-9]/g, '')}-Caisse${i}` });
    const till = new Till({ url: staff.server.url, statePath: statePath?.(i) });
    await till.pair(code);
    tills.push(till);
  }
  return tills;
}

/** `count` new holders of the demo institution, each credited with `packs` cash packs of 20 € by `till`. */
export async function fundedSupports(staff, till, count, { packs = 5, tag = `${process.pid}` } = {}) {
  const supports = [];
  for (let i = 0; i < count; i += 1) {
    const id = `${tag}${i}`;
    const number = `BENCH${id}`.slice(0, 20);
    expect(await staff.manager.call('POST', '/api/v1/wallet/holders', {
      organisation_id: staff.institution.id, university_id: `B-${id}`, last_name: 'Banc', first_name: `Essai ${i}`,
      email: `bench.${id}@example.org`, supports: [{ number, technology: 'desfire' }] }), 201, 'holder');
    for (let p = 0; p < packs; p += 1) await till.cashReload({ support_number: number, amount: 2000 });
    supports.push(number);
  }
  return supports;
}
