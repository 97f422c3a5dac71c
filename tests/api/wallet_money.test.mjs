// The wallet's money in and out through the API, end to end with the card acquirer simulator
// (tests/support/card-acquirer-simulator): card reloads through the hosted payment page
// (accepted, refused, 3-D-Secure-like challenge, saved card), signed notifications and their
// idempotent retries, a forged notification, chargeback → reversal, opposition and recovery,
// refunds with the minimum rule and IBAN checks, the pain.001 file validated against the EPC
// schema, cash packs by an API key, account-to-account transfers and third-party reload links.
// On SQLite, and on PostgreSQL when GUICHET_TEST_PG is set.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backends, projectRoot, startServer } from '../support/server.mjs';
import { startCardAcquirerSimulator, TEST_CARDS, CHALLENGE_CODE, sign } from '../support/card-acquirer-simulator/simulator.mjs';
import { expectProblem, request } from './lib.mjs';
import { Client } from './identity_client.mjs';

const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
const demoPassword = 'Vercors-Granit-Saule-47';
const camille = 'camille.martin@etu.demo.guichet.fr';
const hugo = 'hugo.bernard@etu.demo.guichet.fr';
const linh = 'linh.nguyen@etu.demo.guichet.fr';
const hugoCard = '04A1B2C3D4E5F7';
const linhCard = '04A1B2C3D4E5F8';
const pollDeadlineMs = 15000;

/** A holder's browser: the guichet_holder cookie and the CSRF token of its session. */
class Holder {
  constructor(server) { this.server = server; this.cookie = ''; this.csrf = ''; }
  async login(email) {
    const r = await this.call('POST', '/api/v1/wallet/holder-session', { email, password: demoPassword });
    assert.equal(r.status, 200, r.text);
    return r.body.holder;
  }
  async call(method, path, json) {
    const headers = {};
    if (this.cookie) headers.cookie = this.cookie;
    if (this.csrf && method !== 'GET') headers['x-csrf-token'] = this.csrf;
    const r = await request(this.server, method, path, { json, headers });
    const setCookie = r.headers.get('set-cookie');
    const match = setCookie && /guichet_holder=([^;]*)/.exec(setCookie);
    if (match) this.cookie = `guichet_holder=${match[1]}`;
    if (r.body && typeof r.body.csrf_token === 'string') this.csrf = r.body.csrf_token;
    return r;
  }
  async euros() {
    const r = await this.call('GET', '/api/v1/wallet/me/accounts');
    assert.equal(r.status, 200, r.text);
    return r.body.accounts.find((a) => a.counter.code === 'EUR').balance;
  }
}

/** The payer in the acquirer's page: types the card, submits, follows the redirect home. */
async function payOnHostedPage(redirectUrl, card, { challengeCode } = {}) {
  const form = await fetch(redirectUrl);
  assert.equal(form.status, 200);
  const html = await form.text();
  assert.match(html, /name="card_number"/);
  assert.match(html, /Card acquirer simulator/);
  let res = await fetch(redirectUrl, { method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ card_number: card, expiry: '12/30', cvc: '123', action: 'pay' }) });
  if (challengeCode !== undefined) {
    assert.equal(res.status, 200);
    assert.match(await res.text(), /name="code"/);
    res = await fetch(redirectUrl + '/challenge', { method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code: challengeCode }) });
  }
  assert.equal(res.status, 303);
  return new URL(res.headers.get('location'));
}

async function until(check, what) {
  const deadline = Date.now() + pollDeadlineMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const backend of backends()) {
  describe(`wallet money (${backend})`, () => {
    let acquirer;
    let server;
    const secrets = new Map();
    // One staff session for the whole suite: a second login in the same 30 s would reuse the
    // authenticator's code, which the server refuses.
    let adminSession;
    const regionalAdmin = async () => {
      adminSession ??= await new Client(server).loginFully('regional.admin@demo.guichet.fr', secrets);
      return adminSession;
    };
    before(async () => {
      acquirer = await startCardAcquirerSimulator({ apiKey: 'k-' + Math.random().toString(36).slice(2), secret: 's-' + Math.random().toString(36).slice(2) });
      server = await startServer({ backend, demo: true, env: { ...fastHashing,
        GUICHET_CARD_ACQUIRER_URL: acquirer.url, GUICHET_CARD_ACQUIRER_API_KEY: acquirer.apiKey,
        GUICHET_CARD_ACQUIRER_SECRET: acquirer.secret, GUICHET_WALLET_REFUND_MIN_CENTS: '1000' } });
    });
    after(async () => { await server?.stop(); await acquirer?.stop(); });

    test('card reloads, notifications, chargeback, refunds and the pain.001 file', async () => {
      const holder = new Holder(server);
      const me = await holder.login(camille);
      const start = await holder.euros();

      // Refusals before the acquirer is even called.
      expectProblem(await holder.call('POST', '/api/v1/wallet/me/card-reloads', { amount: 2999 }), 422, 'below_minimum');
      expectProblem(await holder.call('POST', '/api/v1/wallet/me/card-reloads', { amount: 60000 }), 422, 'threshold_exceeded');
      expectProblem(await request(server, 'POST', '/api/v1/wallet/me/card-reloads', { json: { amount: 4000 } }), 401, 'unauthenticated');

      // Accepted card, saved: credited on the signed notification, before the payer is back.
      const started = await holder.call('POST', '/api/v1/wallet/me/card-reloads', { amount: 4000, save_card: true });
      assert.equal(started.status, 201, started.text);
      assert.equal(started.body.status, 'pending');
      const back = await payOnHostedPage(started.body.redirect_url, TEST_CARDS.accept);
      assert.equal(back.pathname, '/api/v1/wallet/card-return');
      assert.equal(back.searchParams.get('status'), 'authorised');
      const page = await fetch(back);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /data-status="authorised"/);
      const state = await holder.call('GET', `/api/v1/wallet/me/card-reloads/${started.body.reference}`);
      assert.equal(state.body.status, 'authorised');
      assert.equal(await holder.euros(), start + 4000);
      const paymentId = [...acquirer.payments.values()].find((p) => p.reference === started.body.reference).id;

      // The acquirer sends the same notification again: answered as a replay, credited once.
      const resent = await (await fetch(`${acquirer.url}/admin/payments/${paymentId}/resend`, { method: 'POST' })).json();
      assert.equal(resent.delivery.status, 200);
      assert.equal(JSON.parse(resent.delivery.response).replayed, true);
      assert.equal(await holder.euros(), start + 4000);

      // A forged notification (wrong key) and an unsigned one are refused.
      const body = JSON.stringify({ id: 'evt_forged', type: 'payment.authorised', payment: { id: paymentId, reference: started.body.reference, amount: 4000, currency: 'EUR' } });
      const t = Math.floor(Date.now() / 1000);
      expectProblem(await request(server, 'POST', '/api/v1/payments/card-acquirer/notifications',
        { body, headers: { 'content-type': 'application/json', 'acquirer-signature': `t=${t},v1=${sign('not-the-secret', t, body)}` } }),
      400, 'notification_signature_invalid');
      expectProblem(await request(server, 'POST', '/api/v1/payments/card-acquirer/notifications',
        { body, headers: { 'content-type': 'application/json' } }), 400, 'notification_signature_invalid');

      // Refused card: nothing credited.
      const refused = await holder.call('POST', '/api/v1/wallet/me/card-reloads', { amount: 3000 });
      const refusedBack = await payOnHostedPage(refused.body.redirect_url, TEST_CARDS.refuse);
      assert.equal(refusedBack.searchParams.get('status'), 'refused');
      assert.equal((await holder.call('GET', `/api/v1/wallet/me/card-reloads/${refused.body.reference}`)).body.status, 'refused');
      assert.equal(await holder.euros(), start + 4000);

      // 3-D-Secure-like challenge.
      const challenged = await holder.call('POST', '/api/v1/wallet/me/card-reloads', { amount: 3000 });
      const challengedBack = await payOnHostedPage(challenged.body.redirect_url, TEST_CARDS.challenge, { challengeCode: CHALLENGE_CODE });
      assert.equal(challengedBack.searchParams.get('status'), 'authorised');
      assert.equal(await holder.euros(), start + 7000);

      // The saved card: a merchant-initiated payment, credited when its notification arrives.
      const cards = (await holder.call('GET', '/api/v1/wallet/me/saved-cards')).body.cards;
      assert.equal(cards.length, 1);
      assert.equal(cards[0].last4, TEST_CARDS.accept.slice(-4));
      assert.equal(cards[0].token, undefined);
      expectProblem(await holder.call('POST', '/api/v1/wallet/me/card-reloads', { amount: 3000, saved_card_id: cards[0].id + 1000 }), 404, 'card_not_found');
      const again = await holder.call('POST', '/api/v1/wallet/me/card-reloads', { amount: 3000, saved_card_id: cards[0].id });
      assert.equal(again.status, 201, again.text);
      await until(async () => (await holder.call('GET', `/api/v1/wallet/me/card-reloads/${again.body.reference}`)).body.status === 'authorised', 'saved-card credit');
      assert.equal(await holder.euros(), start + 10000);

      // Refunds: the minimum per request, bad IBANs, then most of the balance.
      const iban = 'FR76 3000 6000 0112 3456 7890 189';
      expectProblem(await holder.call('POST', '/api/v1/wallet/me/refunds', { amount: 500, iban }), 422, 'refund_below_minimum');
      expectProblem(await holder.call('POST', '/api/v1/wallet/me/refunds', { amount: 5000, iban: 'FR7630006000011234567890188' }), 422, 'iban_checksum_wrong');
      expectProblem(await holder.call('POST', '/api/v1/wallet/me/refunds', { amount: 5000, iban: 'FR763000600001123456789018' }), 422, 'iban_length_wrong');
      expectProblem(await holder.call('POST', '/api/v1/wallet/me/refunds', { amount: 5000, iban: 'TR330006100519786457841326' }), 422, 'iban_not_sepa');
      expectProblem(await holder.call('POST', '/api/v1/wallet/me/refunds', { amount: 999999, iban }), 422, 'insufficient_funds');
      const balance = await holder.euros();
      const refund = await holder.call('POST', '/api/v1/wallet/me/refunds', { amount: balance - 1000, iban, name: 'Camille Martin' });
      assert.equal(refund.status, 201, refund.text);
      assert.equal(refund.body.status, 'requested');
      assert.match(refund.body.iban, /^FR76\*+0189$/);
      assert.equal(await holder.euros(), 1000);

      // Chargeback of the first reload: 10 € left are reversed, 30 € owed, the account opposed.
      const chargeback = await (await fetch(`${acquirer.url}/admin/payments/${paymentId}/chargeback`, { method: 'POST' })).json();
      assert.equal(chargeback.delivery.status, 200, JSON.stringify(chargeback));
      assert.equal(await holder.euros(), 0);
      assert.equal((await holder.call('GET', '/api/v1/wallet/me')).body.opposition, 'temporary');
      expectProblem(await holder.call('POST', '/api/v1/wallet/me/card-reloads', { amount: 3000 }), 409, 'holder_opposed');

      // The regional administrator produces the refunds file and sees the recovery.
      const admin = await regionalAdmin();
      const file = await admin.call('POST', '/api/v1/wallet/sepa-files/refunds', { organisation_id: me.organisation_id });
      assert.equal(file.status, 201, file.text);
      assert.equal(file.body.kind, 'pain.001.001.09');
      assert.equal(file.body.count, 1);
      assert.equal(file.body.total, balance - 1000);
      expectProblem(await admin.call('POST', '/api/v1/wallet/sepa-files/refunds', { organisation_id: me.organisation_id }), 409, 'nothing_to_export');
      const listed = await admin.call('GET', '/api/v1/wallet/sepa-files');
      assert.ok(listed.body.files.some((f) => f.id === file.body.id));
      const xml = await admin.call('GET', `/api/v1/wallet/sepa-files/${file.body.id}`);
      assert.equal(xml.status, 200);
      assert.match(xml.headers.get('content-type'), /application\/xml/);
      const dir = mkdtempSync(join(tmpdir(), 'pain001-'));
      writeFileSync(join(dir, 'refunds.xml'), xml.text);
      execFileSync('xmllint', ['--noout', '--schema', join(projectRoot, 'tests/schemas/EPC132-08_2023_V1.0_pain.001.001.09.xsd'), join(dir, 'refunds.xml')], { stdio: 'pipe' });
      assert.match(xml.text, /<Nm>Camille Martin<\/Nm>/);
      assert.equal((await holder.call('GET', '/api/v1/wallet/me/refunds')).body.refunds[0].status, 'exported');
      const recoveries = (await admin.call('GET', '/api/v1/wallet/recoveries')).body.recoveries;
      const recovery = recoveries.find((r) => r.reference === started.body.reference);
      assert.equal(recovery.amount_due, 3000);
      assert.equal(recovery.reason, 'card_chargeback');
      // Another region's administrator sees neither.
      expectProblem(await admin.call('GET', `/api/v1/wallet/sepa-files/${file.body.id + 100}`), 404, 'sepa_file_not_found');
    });

    test('cash packs by an API key, transfers and third-party links', async () => {
      const admin = await regionalAdmin();
      const hugoHolder = new Holder(server);
      const hugoMe = await hugoHolder.login(hugo);
      const key = await admin.call('POST', '/api/v1/api-keys', { organisation_id: hugoMe.organisation_id, label: 'Caisse accueil', scopes: ['wallet.cash.record'] });
      assert.equal(key.status, 201, key.text);
      const asKey = (json) => request(server, 'POST', '/api/v1/wallet/cash-reloads', { json, headers: { authorization: `Bearer ${key.body.secret}` } });
      const startHugo = await hugoHolder.euros();
      const cash = await asKey({ support_number: hugoCard, pack_cents: 1000, operation_id: 'till-1-0001' });
      assert.equal(cash.status, 201, cash.text);
      assert.equal(cash.body.replayed, false);
      const retried = await asKey({ support_number: hugoCard, pack_cents: 1000, operation_id: 'till-1-0001' });
      assert.equal(retried.body.replayed, true);
      assert.equal(await hugoHolder.euros(), startHugo + 1000);
      expectProblem(await asKey({ support_number: hugoCard, pack_cents: 700, operation_id: 'till-1-0002' }), 422, 'cash_pack_invalid');
      expectProblem(await asKey({ support_number: hugoCard, pack_cents: 2000, operation_id: 'till-1-0001' }), 409, 'duplicate_operation');
      expectProblem(await asKey({ support_number: linhCard, pack_cents: 500, operation_id: 'till-1-0003' }), 404, 'support_not_found');

      // Account to account, by e-mail and by support number; both see it on their statement.
      const linhHolder = new Holder(server);
      await linhHolder.login(linh);
      const startLinh = await linhHolder.euros();
      const sent = await hugoHolder.call('POST', '/api/v1/wallet/me/transfers', { amount: 400, to: linh, client_id: 'tr-1' });
      assert.equal(sent.status, 201, sent.text);
      const sentAgain = await hugoHolder.call('POST', '/api/v1/wallet/me/transfers', { amount: 400, to: linh, client_id: 'tr-1' });
      assert.equal(sentAgain.body.replayed, true);
      await hugoHolder.call('POST', '/api/v1/wallet/me/transfers', { amount: 100, to: linhCard, client_id: 'tr-2' });
      assert.equal(await linhHolder.euros(), startLinh + 500);
      assert.equal(await hugoHolder.euros(), startHugo + 500);
      expectProblem(await hugoHolder.call('POST', '/api/v1/wallet/me/transfers', { amount: 100, to: 'nobody@example.org', client_id: 'tr-3' }), 404, 'holder_not_found');
      expectProblem(await hugoHolder.call('POST', '/api/v1/wallet/me/transfers', { amount: 100000, to: linh, client_id: 'tr-4' }), 422, 'insufficient_funds');
      expectProblem(await hugoHolder.call('POST', '/api/v1/wallet/me/transfers', { amount: 100, to: hugo, client_id: 'tr-5' }), 422, 'same_holder');

      // A third-party link: the payer has no account and pays by card through the simulator.
      const link = await hugoHolder.call('POST', '/api/v1/wallet/me/reload-links', { amount: 3500, valid_hours: 48 });
      assert.equal(link.status, 201, link.text);
      const token = link.body.token;
      const read = await request(server, 'GET', `/api/v1/wallet/reload-links/${token}`);
      assert.equal(read.status, 200);
      assert.equal(read.body.amount, 3500);
      assert.equal(read.body.last_name, undefined);
      expectProblem(await request(server, 'POST', `/api/v1/wallet/reload-links/${token}/payments`, { json: { amount: 4000 } }), 422, 'amount_mismatch');
      const forged = token.replace(/\.(\d+)\./, (m, amount) => `.${Number(amount) + 1}.`);
      expectProblem(await request(server, 'GET', `/api/v1/wallet/reload-links/${forged}`), 404, 'link_invalid');
      expectProblem(await request(server, 'POST', `/api/v1/wallet/reload-links/${forged}/payments`, { json: {} }), 404, 'link_invalid');
      const paid = await request(server, 'POST', `/api/v1/wallet/reload-links/${token}/payments`, { json: {} });
      assert.equal(paid.status, 201, paid.text);
      await payOnHostedPage(paid.body.redirect_url, TEST_CARDS.accept);
      assert.equal(await hugoHolder.euros(), startHugo + 500 + 3500);
      const statement = (await hugoHolder.call('GET', '/api/v1/wallet/me/statement')).body;
      const kinds = JSON.stringify(statement);
      assert.match(kinds, /reload\.link/);
      assert.match(kinds, /reload\.cash/);
    });

    test('SEPA direct debits: mandate, explicit amount, pain.008 per date, rejects with cover', async () => {
      const admin = await regionalAdmin();
      const hugoHolder = new Holder(server);
      const hugoMe = await hugoHolder.login(hugo);
      const iban = 'DE89 3704 0044 0532 0130 00';
      expectProblem(await hugoHolder.call('POST', '/api/v1/wallet/me/mandates', { iban }), 422, 'mandate_not_accepted');
      expectProblem(await hugoHolder.call('POST', '/api/v1/wallet/me/mandates', { iban: 'DE89370400440532013001', accept: true }), 422, 'iban_checksum_wrong');
      const mandate = await hugoHolder.call('POST', '/api/v1/wallet/me/mandates', { iban, name: 'Hugo Bernard', accept: true });
      assert.equal(mandate.status, 201, mandate.text);
      assert.match(mandate.body.rum, /^GUICHET-\d+-\d{8}$/);
      const m = mandate.body.id;
      expectProblem(await hugoHolder.call('POST', '/api/v1/wallet/me/direct-debits', { mandate_id: m, amount: 2000, confirm: false }), 422, 'confirmation_required');
      expectProblem(await hugoHolder.call('POST', '/api/v1/wallet/me/direct-debits', { mandate_id: m, amount: 100, confirm: true }), 422, 'below_minimum');
      expectProblem(await hugoHolder.call('POST', '/api/v1/wallet/me/direct-debits', { mandate_id: m, amount: 30000, confirm: true }), 422, 'above_maximum');
      expectProblem(await hugoHolder.call('POST', '/api/v1/wallet/me/direct-debits', { mandate_id: m + 1000, amount: 2000, confirm: true }), 409, 'mandate_missing');
      const before = await hugoHolder.euros();
      const first = await hugoHolder.call('POST', '/api/v1/wallet/me/direct-debits', { mandate_id: m, amount: 2000, confirm: true });
      assert.equal(first.status, 201, first.text);
      assert.equal(first.body.sequence, 'FRST');
      assert.equal(first.body.status, 'pending');
      const second = await hugoHolder.call('POST', '/api/v1/wallet/me/direct-debits', { mandate_id: m, amount: 1000, confirm: true });
      assert.equal(second.body.sequence, 'RCUR');
      assert.equal(await hugoHolder.euros(), before + 3000);  // credited at once

      // The bank file: pain.008.001.08, one per collection date, checked structurally.
      const files = await admin.call('POST', '/api/v1/wallet/sepa-files/direct-debits', { organisation_id: hugoMe.organisation_id });
      assert.equal(files.status, 201, files.text);
      assert.equal(files.body.files.length, 1);
      assert.equal(files.body.files[0].kind, 'pain.008.001.08');
      assert.equal(files.body.files[0].total, 3000);
      expectProblem(await admin.call('POST', '/api/v1/wallet/sepa-files/direct-debits', { organisation_id: hugoMe.organisation_id }), 409, 'nothing_to_export');
      const xml = (await admin.call('GET', `/api/v1/wallet/sepa-files/${files.body.files[0].id}`)).text;
      assert.match(xml, /<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain\.008\.001\.08">/);
      const plain = xml.replace(/ xmlns="[^"]*"/, '');
      const dir = mkdtempSync(join(tmpdir(), 'pain008-'));
      writeFileSync(join(dir, 'dd.xml'), plain);
      const xpath = (e) => execFileSync('xmllint', ['--xpath', e, join(dir, 'dd.xml')]).toString().trim();
      assert.equal(xpath('string(//GrpHdr/CtrlSum)'), '30.00');
      assert.equal(xpath('count(//PmtInf)'), '2');
      assert.equal(xpath("string(//PmtInf[PmtTpInf/SeqTp='FRST']/DrctDbtTxInf/DrctDbtTx/MndtRltdInf/MndtId)"), mandate.body.rum);
      assert.equal(xpath('string(//CdtrSchmeId/Id/PrvtId/Othr/Id)'), 'FR72ZZZ123456');

      // Hugo spends most of it; then the bank rejects both debits.
      const spendable = (await hugoHolder.euros()) - 500;
      assert.equal((await hugoHolder.call('POST', '/api/v1/wallet/me/transfers', { amount: spendable, to: linh, client_id: 'spend-1' })).status, 201);
      const rejected = await admin.call('POST', `/api/v1/wallet/direct-debits/${first.body.id}/reject`, { reason: 'AM04' });
      assert.equal(rejected.status, 200, rejected.text);
      assert.equal(rejected.body.reversed, 500);
      assert.equal(rejected.body.covered, 1500);  // capped at 15 € for a 20 € debit
      assert.equal(rejected.body.owed, 1500);
      assert.equal(await hugoHolder.euros(), 0);
      assert.equal((await hugoHolder.call('GET', '/api/v1/wallet/me')).body.opposition, 'temporary');
      const again = await admin.call('POST', `/api/v1/wallet/direct-debits/${second.body.id}/reject`, { reason: 'AM04' });
      assert.equal(again.body.covered, 0);
      assert.equal(again.body.cover_refused, 'cover_limit_reached');  // one cover per day per holder
      assert.equal(again.body.owed, 1000);
      expectProblem(await admin.call('POST', `/api/v1/wallet/direct-debits/${second.body.id}/reject`, { reason: 'AM04' }), 409, 'debit_not_pending');
      expectProblem(await hugoHolder.call('POST', '/api/v1/wallet/me/direct-debits', { mandate_id: m, amount: 1000, confirm: true }), 409, 'holder_opposed');
      const owed = (await admin.call('GET', '/api/v1/wallet/recoveries')).body.recoveries.filter((r) => r.reason === 'sepa_reject');
      assert.deepEqual(owed.map((r) => r.amount_due).sort(), [1000, 1500]);
    });
  });
}
