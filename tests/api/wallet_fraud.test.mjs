// Fraud detection (W20) end to end with real paired tills signing their requests: the regional
// admin sets rules at the region (velocity with opposition, amount, refusals, distance), tills
// make debits, the scan opens alerts; the opposed card is refused at its next debit and the
// admins are e-mailed (through the outbox). Validation refusals, a national rule inherited by a
// region until the region sets its own (DELETE restores inheritance), another region's admin
// kept out (404, absent from the list), an alert closed once (409 the second time). The e-mails
// are checked in the outbox (which alert they name) and in the messages history API.
// On SQLite, and on PostgreSQL when GUICHET_TEST_PG is set.
//
// The scan leaves rows younger than 5 s for the next one (kFraudScanLagMs), and the test never
// reads the clock: it asks for a scan and lists the alerts until the expected one appears.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { backends, startServer } from '../support/server.mjs';
import { expectProblem, pollUntil, request } from './lib.mjs';
import { Client, demoPassword } from './identity_client.mjs';
import { newHolder, sql } from './wallet_support.mjs';

const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
const iban = 'FR7630006000011234567890189';
const sha256Hex = (text) => createHash('sha256').update(text).digest('hex');

/** A till: its own Ed25519 key pair; signs METHOD\nTARGET\nTIMESTAMP\nSHA256HEX(BODY). */
class Till {
  constructor(server) {
    this.server = server;
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    this.publicKey = publicKey.export({ format: 'jwk' }).x;
    this.privateKey = privateKey;
    this.seq = 0;
  }
  async pair(code) {
    const r = await request(this.server, 'POST', '/api/v1/devices/pair', { json: { code, public_key: this.publicKey } });
    assert.equal(r.status, 201, r.text);
    this.id = r.body.device_id;
  }
  call(method, target, json) {
    const body = json === undefined ? '' : JSON.stringify(json);
    const timestamp = String(Date.now());
    const canonical = [method, target, timestamp, sha256Hex(body)].join('\n');
    const headers = {
      'x-device-id': String(this.id),
      'x-device-timestamp': timestamp,
      'x-device-signature': sign(null, Buffer.from(canonical), this.privateKey).toString('base64url'),
    };
    if (json !== undefined) headers['content-type'] = 'application/json';
    return request(this.server, method, target, { headers, body: json === undefined ? undefined : body });
  }
  txn() { this.seq += 1; return `${this.id}-${Date.now()}-${this.seq}`; }
  async reload(card, amount) {
    const r = await this.call('POST', '/api/v1/pos/cash-reloads', { point_txn_id: this.txn(), amount,
      point_at_ms: Date.now(), support_number: card });
    assert.equal(r.status, 201, `${r.status} ${r.text}`);
  }
  debit(card, amount, id = this.txn()) {
    return this.call('POST', '/api/v1/pos/debits', { point_txn_id: id, amount, support_number: card,
      point_at_ms: Date.now() });
  }
  /** A debit held then acknowledged: money spent. */
  async pay(card, amount) {
    const id = this.txn();
    const held = await this.debit(card, amount, id);
    assert.equal(held.status, 201, held.text);
    const acked = await this.call('POST', '/api/v1/pos/acknowledgements', { point_txn_id: id, positive: true,
      point_at_ms: Date.now() });
    assert.equal(acked.status, 200, acked.text);
    return { held, acked };
  }
}

for (const backend of backends()) {
  describe(`wallet fraud rules and alerts (${backend})`, () => {
    let server; let admin; let national; let lyonAdmin; let merchant; let region; let lyon;
    const secrets = new Map();
    const permissions = ['clock_check', 'debit', 'cancel', 'cash_reload'];

    async function approvedTill(location) {
      const created = await admin.call('POST', '/api/v1/wallet/points', {
        merchant_id: merchant.id, institution_id: `F-${Date.now()}-${Math.random()}`.slice(0, 60),
        location, address: '1 rue Diderot, Grenoble', type: 'till', permissions });
      assert.equal(created.status, 201, created.text);
      const approved = await admin.call('POST', `/api/v1/wallet/points/${created.body.id}/approve`, {});
      assert.equal(approved.status, 200, approved.text);
      const device = new Till(server);
      await device.pair(approved.body.pairing.code);
      return { point: approved.body.point, till: device };
    }

    /** A new holder of the region with one card, funded in cash at `till`; its card number. */
    async function fundedCard(till, amount = 6000) {
      const body = newHolder(region.id);
      const created = await national.call('POST', '/api/v1/wallet/holders', body);
      assert.equal(created.status, 201, created.text);
      const card = body.supports[0].number;
      for (let left = amount; left > 0; left -= 2000) await till.reload(card, 2000);  // packs of 20 EUR
      return card;
    }

    /** Scans until an open alert matching `match` is listed (rows younger than 5 s wait). */
    async function alertAppears(client, match, what) {
      let found;
      await pollUntil(async () => {
        const scanned = await admin.call('POST', '/api/v1/wallet/fraud/scan', {});
        assert.equal(scanned.status, 204, scanned.text);
        const list = await client.call('GET', '/api/v1/wallet/fraud/alerts?state=all');
        assert.equal(list.status, 200, list.text);
        found = list.body.alerts.find(match);
        return found !== undefined;
      }, { timeoutMs: 20000, intervalMs: 500, what });
      return found;
    }

    async function setRule(client, orgId, kind, body) {
      const r = await client.call('PUT', `/api/v1/wallet/fraud/rules/${kind}?organisation_id=${orgId}`, body);
      assert.equal(r.status, 200, r.text);
      return r.body;
    }

    async function ruleAt(client, orgId, kind) {
      const r = await client.call('GET', `/api/v1/wallet/fraud/rules?organisation_id=${orgId}`);
      assert.equal(r.status, 200, r.text);
      return r.body.rules.find((rule) => rule.kind === kind);
    }

    before(async () => {
      server = await startServer({ backend, demo: true, env: { ...fastHashing, GUICHET_WALLET_FRAUD_SCAN_INTERVAL_S: '3600' } });
      admin = await new Client(server).loginFully('regional.admin@demo.guichet.fr', secrets);
      national = await new Client(server).loginFully('national.admin@demo.guichet.fr', secrets);
      const organisations = (await national.call('GET', '/api/v1/organisations')).body.organisations;
      region = organisations.find((o) => o.name === 'Crous Grenoble Alpes');
      lyon = organisations.find((o) => o.name === 'Crous Lyon');
      assert.ok(region && lyon);
      // Another region's admin, created by the national admin.
      const email = `bellecour.${backend}@demo.guichet.fr`;
      const created = await national.call('POST', '/api/v1/staff', { email, display_name: 'Octave Bellecour',
        organisation_id: lyon.id, profiles: ['wallet.regional_admin'], initial_password: 'Tilleul-Orage-Basalte-93' });
      assert.equal(created.status, 201, created.text);
      const first = new Client(server);
      assert.equal((await first.login(email, 'Tilleul-Orage-Basalte-93')).status, 200);
      const changed = await first.call('PUT', '/api/v1/me/password', { current_password: 'Tilleul-Orage-Basalte-93',
        new_password: demoPassword });
      assert.equal(changed.status, 204, changed.text);
      lyonAdmin = await new Client(server).loginFully(email, secrets);
      const made = await admin.call('POST', '/api/v1/wallet/merchants', {
        region_id: region.id, name: `Cafétéria fraude ${backend}`, iban, bic: 'AGRIFRPP', commission_bp: 150,
        contact_email: 'cafet@example.org' });
      assert.equal(made.status, 201, made.text);
      merchant = made.body;
    });
    after(async () => { await server?.stop(); });

    test('velocity with opposition: three debits by one card open an alert, oppose the card and e-mail the admin', async () => {
      const rule = await setRule(admin, region.id, 'velocity', { count: 3, window_s: 600, action: 'oppose' });
      assert.equal(rule.count, 3);
      assert.equal(rule.window_s, 600);
      assert.equal(rule.action, 'oppose');
      assert.equal(rule.set_at.organisation_id, region.id);
      const { point, till } = await approvedTill('Crous-UGA-RU-Diderot-Caisse1');
      const card = await fundedCard(till);
      for (let i = 0; i < 3; i += 1) await till.pay(card, 320);
      const alert = await alertAppears(admin, (a) => a.rule === 'velocity' && a.point_id === point.id, 'velocity alert');
      assert.equal(alert.action_taken, 'support_opposed');
      assert.equal(alert.state, 'open');
      assert.equal(alert.organisation_id, region.id);
      assert.match(alert.subject, /^support:\d+$/);
      assert.equal(alert.facts.debits, 3);
      const detail = await admin.call('GET', `/api/v1/wallet/fraud/alerts/${alert.id}`);
      assert.equal(detail.status, 200, detail.text);
      assert.equal(detail.body.summary, alert.summary);
      // The card's next debit is refused: the support is opposed.
      const refused = await till.debit(card, 100);
      assert.ok(refused.status >= 400, refused.text);
      assert.equal(refused.body.code, 'support_opposed');
      // The regional admin (and the national one) were e-mailed through the outbox.
      const mails = sql(server, `SELECT recipient, variables FROM outbox_messages WHERE template_code = 'wallet.fraud_alert'`)
        .map(([recipient, variables]) => ({ recipient, variables: JSON.parse(variables) }))
        .filter((m) => m.variables.alert_id === alert.id);
      const recipients = mails.map((m) => m.recipient);
      assert.ok(recipients.includes('regional.admin@demo.guichet.fr'), recipients.join());
      assert.ok(recipients.includes('national.admin@demo.guichet.fr'), recipients.join());
      assert.ok(!recipients.some((r) => r.startsWith('bellecour')), 'another region was told');
      // The same, as the national admin reads it in the regional admin's messages history.
      const me = await admin.call('GET', '/api/v1/me');
      const history = await national.call('GET', `/api/v1/notify/people/staff/${me.body.id}/messages`);
      assert.equal(history.status, 200, history.text);
      const fraudMails = history.body.items.filter((m) => m.template_code === 'wallet.fraud_alert');
      assert.equal(fraudMails.length, 1, JSON.stringify(history.body.items));
      assert.equal(fraudMails[0].channel, 'email');
      assert.equal(fraudMails[0].recipient, 'regional.admin@demo.guichet.fr');
      // The same alert is not opened twice at the next scan.
      assert.equal((await admin.call('POST', '/api/v1/wallet/fraud/scan', {})).status, 204);
      const all = (await admin.call('GET', '/api/v1/wallet/fraud/alerts?state=all')).body.alerts;
      assert.equal(all.filter((a) => a.rule === 'velocity' && a.subject === alert.subject).length, 1);
    });

    test('amount: a debit at or above the threshold alerts without opposing', async () => {
      await setRule(admin, region.id, 'amount', { amount_cents: 4000 });
      const { point, till } = await approvedTill('Crous-UGA-RU-Barnave-Caisse1');
      const card = await fundedCard(till, 6000);
      await till.pay(card, 4500);
      const alert = await alertAppears(admin, (a) => a.rule === 'amount' && a.point_id === point.id, 'amount alert');
      assert.equal(alert.action_taken, 'none');
      assert.equal(alert.facts.amount, 4500);
      assert.equal(alert.facts.threshold, 4000);
      const next = await till.debit(card, 100);
      assert.equal(next.status, 201, next.text);
    });

    test('refusals: five debits on an unknown card open an alert on the payer', async () => {
      const { point, till } = await approvedTill('Crous-UGA-RU-Condillac-Caisse1');
      const unknown = `UNKNOWN-${backend}-${Date.now()}`;
      for (let i = 0; i < 5; i += 1) {
        const refused = await till.debit(unknown, 250);
        assert.ok(refused.status >= 400, refused.text);
      }
      const alert = await alertAppears(admin, (a) => a.rule === 'refusals' && a.point_id === point.id, 'refusals alert');
      assert.match(alert.subject, /^payer:/);
      assert.equal(alert.support_id, null);
      assert.equal(alert.facts.refusals, 5);
      assert.equal(alert.action_taken, 'none');
    });

    test('distance: one card at two distant sites within 15 minutes', async () => {
      const near = await approvedTill('Crous-UGA-RU-Diderot-Caisse2');
      const far = await approvedTill('Crous-USMB-RU-Jacob-Caisse1');
      const card = await fundedCard(near.till);
      await near.till.pay(card, 300);
      await far.till.pay(card, 300);
      // The scan may see either debit first (the other is within the window on both sides).
      const ours = [near.point.id, far.point.id];
      const alert = await alertAppears(admin, (a) => a.rule === 'distance' && ours.includes(a.point_id), 'distance alert');
      assert.deepEqual([...alert.facts.sites].sort(), ['Crous-UGA-RU', 'Crous-USMB-RU']);
      assert.deepEqual([...alert.facts.points].sort((x, y) => x - y), ours);
      assert.equal(alert.action_taken, 'none');
    });

    test('rules are validated: nothing is stored on refusal', async () => {
      const before = await ruleAt(admin, region.id, 'refusals');
      const bad = (kind, body) => admin.call('PUT', `/api/v1/wallet/fraud/rules/${kind}?organisation_id=${region.id}`, body);
      expectProblem(await bad('refusals', { count: 0 }), 422, 'validation_failed');
      expectProblem(await bad('refusals', { window_s: 7 * 24 * 3600 + 1 }), 422, 'validation_failed');
      expectProblem(await bad('refusals', { amount_cents: 100 }), 422, 'validation_failed');
      expectProblem(await bad('amount', { count: 3 }), 422, 'validation_failed');
      expectProblem(await bad('refusals', { action: 'ban' }), 422, 'validation_failed');
      expectProblem(await bad('teleport', { count: 3 }), 404, 'fraud_rule_unknown');
      assert.deepEqual(await ruleAt(admin, region.id, 'refusals'), before);
      // Another region's organisation is not found; a merchant cannot read rules.
      expectProblem(await admin.call('GET', `/api/v1/wallet/fraud/rules?organisation_id=${lyon.id}`), 404, 'organisation_not_found');
      expectProblem(await lyonAdmin.call('PUT', `/api/v1/wallet/fraud/rules/refusals?organisation_id=${region.id}`, { count: 2 }),
        404, 'organisation_not_found');
      assert.deepEqual(await ruleAt(admin, region.id, 'refusals'), before);
    });

    // A missing ?organisation_id= is a malformed request, as a malformed id is.
    test('a rule without ?organisation_id= is a 400 invalid_parameter', async () => {
      const noOrg = await admin.call('PUT', '/api/v1/wallet/fraud/rules/refusals', { count: 3 });
      expectProblem(noOrg, 400, 'invalid_parameter');
      expectProblem(await admin.call('GET', '/api/v1/wallet/fraud/rules'), 400, 'invalid_parameter');
      expectProblem(await admin.call('GET', '/api/v1/wallet/fraud/rules?organisation_id=abc'), 400, 'invalid_parameter');
    });

    test('a national rule is inherited by a region until it sets its own; DELETE inherits again', async () => {
      const builtIn = await ruleAt(lyonAdmin, lyon.id, 'qr_replay');
      assert.equal(builtIn.set_at, null);
      const cnous = (await national.call('GET', '/api/v1/organisations')).body.organisations.find((o) => o.kind === 'national');
      await setRule(national, cnous.id, 'qr_replay', { count: 7, window_s: 1800 });
      const inherited = await ruleAt(lyonAdmin, lyon.id, 'qr_replay');
      assert.equal(inherited.count, 7);
      assert.equal(inherited.set_at.organisation_id, cnous.id);
      await setRule(lyonAdmin, lyon.id, 'qr_replay', { count: 4 });
      const own = await ruleAt(lyonAdmin, lyon.id, 'qr_replay');
      assert.equal(own.count, 4);
      assert.equal(own.window_s, 1800, 'fields left out keep the value in force');
      assert.equal(own.set_at.organisation_id, lyon.id);
      // Grenoble still inherits the national one.
      assert.equal((await ruleAt(admin, region.id, 'qr_replay')).count, 7);
      const cleared = await lyonAdmin.call('DELETE', `/api/v1/wallet/fraud/rules/qr_replay?organisation_id=${lyon.id}`);
      assert.equal(cleared.status, 204, cleared.text);
      const again = await ruleAt(lyonAdmin, lyon.id, 'qr_replay');
      assert.equal(again.count, 7);
      assert.equal(again.set_at.organisation_id, cnous.id);
      expectProblem(await lyonAdmin.call('DELETE', `/api/v1/wallet/fraud/rules/qr_replay?organisation_id=${lyon.id}`),
        404, 'fraud_rule_not_set');
      const national204 = await national.call('DELETE', `/api/v1/wallet/fraud/rules/qr_replay?organisation_id=${cnous.id}`);
      assert.equal(national204.status, 204, national204.text);
      assert.equal((await ruleAt(admin, region.id, 'qr_replay')).set_at, null);
    });

    test("another region's admin cannot see an alert; closing twice is a conflict", async () => {
      const list = (await admin.call('GET', '/api/v1/wallet/fraud/alerts')).body.alerts;
      assert.ok(list.length >= 1);
      const alert = list[0];
      expectProblem(await lyonAdmin.call('GET', `/api/v1/wallet/fraud/alerts/${alert.id}`), 404, 'fraud_alert_not_found');
      const theirs = await lyonAdmin.call('GET', '/api/v1/wallet/fraud/alerts?state=all');
      assert.equal(theirs.status, 200, theirs.text);
      assert.equal(theirs.body.alerts.length, 0);
      expectProblem(await lyonAdmin.call('POST', `/api/v1/wallet/fraud/alerts/${alert.id}/closure`, { note: 'not mine' }),
        404, 'fraud_alert_not_found');
      expectProblem(await admin.call('POST', `/api/v1/wallet/fraud/alerts/${alert.id}/closure`, { note: '' }), 422, 'validation_failed');
      expectProblem(await admin.call('POST', `/api/v1/wallet/fraud/alerts/${alert.id}/closure`, {}), 422, 'validation_failed');
      assert.equal((await admin.call('GET', `/api/v1/wallet/fraud/alerts/${alert.id}`)).body.state, 'open');
      const closed = await admin.call('POST', `/api/v1/wallet/fraud/alerts/${alert.id}/closure`, { note: 'Carte prêtée, vu avec l’étudiant' });
      assert.equal(closed.status, 200, closed.text);
      assert.equal(closed.body.state, 'closed');
      assert.equal(closed.body.note, 'Carte prêtée, vu avec l’étudiant');
      expectProblem(await admin.call('POST', `/api/v1/wallet/fraud/alerts/${alert.id}/closure`, { note: 'again' }), 409, 'fraud_alert_closed');
      const open = (await admin.call('GET', '/api/v1/wallet/fraud/alerts')).body.alerts;
      assert.ok(!open.some((a) => a.id === alert.id));
      const closedList = (await admin.call('GET', '/api/v1/wallet/fraud/alerts?state=closed')).body.alerts;
      assert.ok(closedList.some((a) => a.id === alert.id));
      expectProblem(await admin.call('GET', '/api/v1/wallet/fraud/alerts?state=sideways'), 422, 'validation_failed');
      expectProblem(await admin.call('GET', '/api/v1/wallet/fraud/alerts/999999'), 404, 'fraud_alert_not_found');
    });

    // The note's limit counts characters, as the route does, not bytes.
    test('a closing note is measured in characters: 600 accented letters fit in the 1000 allowed', async () => {
      const open = (await admin.call('GET', '/api/v1/wallet/fraud/alerts')).body.alerts;
      assert.ok(open.length >= 2, 'the amount, refusals and distance alerts are open');
      expectProblem(await admin.call('POST', `/api/v1/wallet/fraud/alerts/${open[1].id}/closure`, { note: 'e'.repeat(1001) }),
        422, 'validation_failed');
      assert.equal((await admin.call('GET', `/api/v1/wallet/fraud/alerts/${open[1].id}`)).body.state, 'open');
      const closed = await admin.call('POST', `/api/v1/wallet/fraud/alerts/${open[0].id}/closure`, { note: 'é'.repeat(600) });
      assert.equal(closed.status, 200, closed.text);
    });

    test('a merchant has no fraud rights: 403 on alerts, rules and the scan', async () => {
      const merchantStaff = await new Client(server).loginFully('merchant@demo.guichet.fr', secrets);
      expectProblem(await merchantStaff.call('GET', '/api/v1/wallet/fraud/alerts'), 403, 'forbidden');
      expectProblem(await merchantStaff.call('GET', `/api/v1/wallet/fraud/rules?organisation_id=${region.id}`), 403, 'forbidden');
      expectProblem(await merchantStaff.call('PUT', `/api/v1/wallet/fraud/rules/amount?organisation_id=${region.id}`,
        { amount_cents: 1 }), 403, 'forbidden');
      expectProblem(await merchantStaff.call('POST', '/api/v1/wallet/fraud/scan', {}), 403, 'forbidden');
      assert.equal((await ruleAt(admin, region.id, 'amount')).amount_cents, 4000, 'nothing changed');
    });
  });
}
