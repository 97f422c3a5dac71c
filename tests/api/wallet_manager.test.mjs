// The wallet's staff journeys over HTTP (W1, W5, W11, W12): a manager creates a holder account
// with its supports, updates it with history, searches, blocks and opposes; admins reactivate;
// the national admin sets counters and thresholds; an institution's system creates holders with
// an API key and uploads an XML file processed by a job. And the refusals, each with its code.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, startServer } from '../support/server.mjs';
import { expectProblem, expectValidation, pollUntil, request } from './lib.mjs';
import { Client } from './identity_client.mjs';
import { activationTokens, newHolder, sql } from './wallet_support.mjs';

const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1', GUICHET_JOBS_POLL_MS: '50' };

function uploadXml(institution, holders) {
  const items = holders.map((h) => `  <holder action="${h.action}">
    <university_id>${h.university_id}</university_id>${h.last_name ? `
    <last_name>${h.last_name}</last_name>` : ''}${h.first_name ? `
    <first_name>${h.first_name}</first_name>` : ''}${h.email ? `
    <email>${h.email}</email>` : ''}${h.tariff_profile ? `
    <tariff_profile>${h.tariff_profile}</tariff_profile>` : ''}${h.card ? `
    <supports><support number="${h.card}" technology="desfire" form="physical"/></supports>` : ''}
  </holder>`).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<holders xmlns="urn:guichet:wallet:holders:1" institution="${institution}">
${items}
</holders>
`;
}

for (const backend of backends()) {
  describe(`wallet managers (${backend})`, () => {
    let server; const secrets = new Map();
    let national; let regional; let manager; let merchant; let cityAdmin;
    let grenoble; let lyon;
    before(async () => {
      server = await startServer({ backend, demo: true, env: fastHashing });
      national = await new Client(server).loginFully('national.admin@demo.guichet.fr', secrets);
      regional = await new Client(server).loginFully('regional.admin@demo.guichet.fr', secrets);
      manager = await new Client(server).loginFully('manager@demo.guichet.fr', secrets);
      merchant = await new Client(server).loginFully('merchant@demo.guichet.fr', secrets);
      cityAdmin = await new Client(server).loginFully('syndicate.admin@demo.guichet.fr', secrets);
      const orgs = (await national.call('GET', '/api/v1/organisations')).body.organisations;
      grenoble = orgs.find((o) => o.name === 'Crous Grenoble Alpes');
      lyon = orgs.find((o) => o.name === 'Crous Lyon');
      assert.ok(grenoble && lyon);
    });
    after(async () => { await server?.stop(); });

    test('a manager creates a holder with its supports; the activation message is queued', async () => {
      const body = newHolder(grenoble.id);
      const r = await manager.call('POST', '/api/v1/wallet/holders', body);
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body.state, 'pending_activation');
      assert.equal(r.body.opposition, 'none');
      assert.equal(r.body.supports.length, 1);
      assert.equal(r.body.supports[0].number, body.supports[0].number);
      assert.equal(activationTokens(server, body.email).length, 1);
      const accounts = await manager.call('GET', `/api/v1/wallet/holders/${r.body.id}/accounts`);
      assert.equal(accounts.status, 200, accounts.text);
      assert.deepEqual(accounts.body.accounts.map((a) => a.counter.code), ['EUR', 'MEAL']);
      assert.ok(accounts.body.accounts.every((a) => a.balance === 0));
      const audit = await manager.call('GET', `/api/v1/audit/wallet_holder/${r.body.id}`);
      assert.equal(audit.status, 200, audit.text);
      assert.equal(audit.body.entries[0].action, 'wallet.holder.create');
    });

    test('refusals: duplicates, invalid fields, unknown organisation, no right, other tree', async () => {
      const body = newHolder(grenoble.id);
      assert.equal((await manager.call('POST', '/api/v1/wallet/holders', body)).status, 201);
      const again = newHolder(grenoble.id, { university_id: body.university_id });
      expectProblem(await manager.call('POST', '/api/v1/wallet/holders', again), 409, 'holder_duplicate');
      const sameMail = newHolder(grenoble.id, { email: body.email.toUpperCase() });
      expectProblem(await manager.call('POST', '/api/v1/wallet/holders', sameMail), 409, 'holder_duplicate');
      const sameCard = newHolder(grenoble.id, { supports: body.supports });
      expectProblem(await manager.call('POST', '/api/v1/wallet/holders', sameCard), 409, 'support_duplicate');
      expectValidation(await manager.call('POST', '/api/v1/wallet/holders',
        newHolder(grenoble.id, { email: 'not-an-address', birth_date: '2004-13-40', language: 'de' })),
      ['/birth_date', '/email', '/language']);
      expectValidation(await manager.call('POST', '/api/v1/wallet/holders', { organisation_id: grenoble.id }),
        ['/email', '/first_name', '/last_name', '/supports', '/university_id']);
      expectProblem(await manager.call('POST', '/api/v1/wallet/holders', newHolder(999999)), 404, 'organisation_not_found');
      expectProblem(await merchant.call('POST', '/api/v1/wallet/holders', newHolder(grenoble.id)), 403, 'forbidden');
      expectProblem(await merchant.call('GET', '/api/v1/wallet/holders?last_name=Lef'), 403, 'forbidden');
      const created = await manager.call('POST', '/api/v1/wallet/holders', newHolder(lyon.id));
      assert.equal(created.status, 201, created.text);
      // The regional admin of Grenoble does not see Lyon's holders; another product's admin sees none.
      expectProblem(await regional.call('GET', `/api/v1/wallet/holders/${created.body.id}`), 404, 'holder_not_found');
      expectProblem(await cityAdmin.call('GET', `/api/v1/wallet/holders/${created.body.id}`), 403, 'forbidden');
      expectProblem(await manager.call('GET', '/api/v1/wallet/holders/999999'), 404, 'holder_not_found');
    });

    test('profile updates keep a history: who, when, old and new value', async () => {
      const created = (await manager.call('POST', '/api/v1/wallet/holders', newHolder(grenoble.id))).body;
      const r = await manager.call('PATCH', `/api/v1/wallet/holders/${created.id}`,
        { tariff_profile: 'boursier', end_of_validity: '2028-08-31',
          supports: [{ number: `V-${created.id}-${backend}`, technology: 'qr', form: 'virtual' }] });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.tariff_profile, 'boursier');
      assert.equal(r.body.supports.length, 2);
      assert.equal(r.body.version, 2);
      const changes = (await manager.call('GET', `/api/v1/wallet/holders/${created.id}/changes`)).body.changes;
      const tariff = changes.find((c) => c.field === 'tariff_profile');
      assert.deepEqual([tariff.old_value, tariff.new_value, tariff.source, tariff.actor_type],
        ['etudiant', 'boursier', 'api', 'user']);
      assert.ok(changes.some((c) => c.field === 'end_of_validity' && c.old_value === '2027-08-31'));
      assert.ok(changes.some((c) => c.field === 'support' && c.new_value === `V-${created.id}-${backend}`));
      expectValidation(await manager.call('PATCH', `/api/v1/wallet/holders/${created.id}`, { email: 'x' }), ['/email']);
      expectValidation(await manager.call('PATCH', `/api/v1/wallet/holders/${created.id}`, { colour: 'blue' }), ['/colour']);
    });

    test('search by name, first name, birth date and support number, within one\'s organisations', async () => {
      const body = newHolder(grenoble.id, { last_name: 'Zélateur', first_name: 'Octave', birth_date: '2001-01-09' });
      const created = (await manager.call('POST', '/api/v1/wallet/holders', body)).body;
      const byName = await manager.call('GET', '/api/v1/wallet/holders?last_name=z%C3%A9la&first_name=oct');
      assert.equal(byName.status, 200, byName.text);
      assert.ok(byName.body.holders.some((h) => h.id === created.id), byName.text);
      const byBirth = await manager.call('GET', '/api/v1/wallet/holders?birth_date=2001-01-09');
      assert.deepEqual(byBirth.body.holders.map((h) => h.id), [created.id]);
      const bySupport = await manager.call('GET', `/api/v1/wallet/holders?support=${body.supports[0].number}`);
      assert.deepEqual(bySupport.body.holders.map((h) => h.id), [created.id]);
      const lyonHolder = (await manager.call('POST', '/api/v1/wallet/holders',
        newHolder(lyon.id, { last_name: 'Zélateur', birth_date: '2001-01-09' }))).body;
      const regionalView = await regional.call('GET', '/api/v1/wallet/holders?birth_date=2001-01-09');
      assert.deepEqual(regionalView.body.holders.map((h) => h.id), [created.id], 'Lyon is outside Grenoble');
      const nationalView = await national.call('GET', '/api/v1/wallet/holders?birth_date=2001-01-09');
      assert.deepEqual(nationalView.body.holders.map((h) => h.id).sort(), [created.id, lyonHolder.id].sort());
    });

    test('block and oppose, temporarily or for good; reactivation by admins only; list of opposed supports', async () => {
      const created = (await manager.call('POST', '/api/v1/wallet/holders', newHolder(grenoble.id))).body;
      const support = created.supports[0];
      const opposed = await manager.call('POST', `/api/v1/wallet/supports/${support.id}/opposition`, { kind: 'temporary' });
      assert.equal(opposed.status, 200, opposed.text);
      assert.equal(opposed.body.opposition, 'temporary');
      const list = await manager.call('GET', '/api/v1/wallet/opposed-supports');
      assert.ok(list.body.supports.some((s) => s.id === support.id && s.holder.id === created.id), list.text);
      expectProblem(await manager.call('DELETE', `/api/v1/wallet/supports/${support.id}/opposition`), 403, 'forbidden');
      const reactivated = await regional.call('DELETE', `/api/v1/wallet/supports/${support.id}/opposition`);
      assert.equal(reactivated.status, 200, reactivated.text);
      assert.equal(reactivated.body.opposition, 'none');
      expectProblem(await regional.call('DELETE', `/api/v1/wallet/supports/${support.id}/opposition`), 409, 'not_opposed');
      expectValidation(await manager.call('POST', `/api/v1/wallet/holders/${created.id}/opposition`, { kind: 'sometimes' }), ['/kind']);
      const blocked = await manager.call('POST', `/api/v1/wallet/holders/${created.id}/opposition`, { kind: 'permanent' });
      assert.equal(blocked.status, 200, blocked.text);
      assert.equal(blocked.body.opposition, 'permanent');
      expectProblem(await national.call('DELETE', `/api/v1/wallet/holders/${created.id}/opposition`), 409, 'opposition_permanent');
      expectProblem(await manager.call('POST', `/api/v1/wallet/supports/999999/opposition`, { kind: 'temporary' }), 404, 'support_not_found');
      const history = (await manager.call('GET', `/api/v1/audit/wallet_support/${support.id}`)).body.entries;
      assert.deepEqual(history.map((e) => e.action), ['wallet.support.reactivate', 'wallet.support.oppose']);
    });

    test('the manager sees the full history that explains a balance', async () => {
      const found = (await manager.call('GET', '/api/v1/wallet/holders?university_id=UGA-20231001')).body.holders;
      assert.equal(found.length, 1);
      const statement = await manager.call('GET', `/api/v1/wallet/holders/${found[0].id}/statement?counter=EUR`);
      assert.equal(statement.status, 200, statement.text);
      assert.deepEqual(statement.body.lines.map((l) => [l.kind, l.direction, l.amount, l.balance_after]),
        [['payment', 'debit', 330, 2670], ['reload.card', 'credit', 3000, 3000]]);
      assert.equal(statement.body.lines[0].support_number, '04A1B2C3D4E5F6');
      assert.equal(statement.body.lines[1].mode, 'card');
      const page = await manager.call('GET', `/api/v1/wallet/holders/${found[0].id}/statement?limit=1`);
      assert.equal(page.body.lines.length, 1);
      const next = await manager.call('GET', `/api/v1/wallet/holders/${found[0].id}/statement?limit=1&before=${page.body.next_before}`);
      assert.equal(next.body.lines.length, 1);
      assert.ok(next.body.lines[0].id < page.body.lines[0].id);
      const accounts = (await manager.call('GET', `/api/v1/wallet/holders/${found[0].id}/accounts`)).body.accounts;
      assert.deepEqual(accounts.map((a) => [a.counter.code, a.balance]), [['EUR', 2670], ['MEAL', 9]]);
      assert.ok(accounts[0].date_fields[0].at_ms > 0, 'a euro debit stamps D1');
      assert.equal(accounts[1].date_fields[1].label, 'Midi');
    });

    test('counters and thresholds belong to the national admin', async () => {
      const counters = await manager.call('GET', '/api/v1/wallet/counters');
      assert.deepEqual(counters.body.counters.map((c) => [c.code, c.active]), [['EUR', true], ['MEAL', true], ['POINTS', false]]);
      const defined = await national.call('POST', '/api/v1/wallet/counters', {
        code: 'LAUNDRY', nature: 'Laverie', token_name: 'lavage', information_fr: 'Vos lavages.',
        information_en: 'Your washes.', labels: ['Lavage', 'Séchage', 'D3', 'D4'], active: true });
      assert.equal(defined.status, 201, defined.text);
      expectProblem(await national.call('POST', '/api/v1/wallet/counters', {
        code: 'LAUNDRY', nature: 'x', token_name: 'x', information_fr: 'x', information_en: 'x' }), 409, 'counter_duplicate');
      expectValidation(await national.call('POST', '/api/v1/wallet/counters', { code: 'lower' }),
        ['/code', '/information_en', '/information_fr', '/nature', '/token_name']);
      expectProblem(await national.call('PATCH', '/api/v1/wallet/counters/NOPE', { active: true }), 404, 'unknown_counter');
      expectProblem(await national.call('PATCH', '/api/v1/wallet/counters/EUR', { active: false }), 409, 'euro_counter_always_active');
      expectProblem(await regional.call('POST', '/api/v1/wallet/counters', { code: 'X' }), 403, 'forbidden');
      const off = await national.call('PATCH', '/api/v1/wallet/counters/LAUNDRY', { active: false });
      assert.equal(off.body.active, false);

      const before = (await manager.call('GET', '/api/v1/wallet/thresholds')).body;
      assert.deepEqual(before, { max_transaction: { '*': 5000 }, max_reload: 50000, max_balance: 100000, qr_lifetime_s: 300 });
      const set = await national.call('PUT', '/api/v1/wallet/thresholds', { max_transaction: { desfire: 2000 }, max_balance: 80000 });
      assert.equal(set.status, 200, set.text);
      assert.deepEqual(set.body.max_transaction, { '*': 5000, desfire: 2000 });
      assert.equal(set.body.max_balance, 80000);
      expectValidation(await national.call('PUT', '/api/v1/wallet/thresholds', { max_reload: 0 }), ['/max_reload']);
      expectProblem(await manager.call('PUT', '/api/v1/wallet/thresholds', { max_reload: 100 }), 403, 'forbidden');
      const key = await national.call('POST', '/api/v1/api-keys',
        { organisation_id: grenoble.id, label: 'Point de gestion repas', scopes: ['wallet.holders.read'] });
      assert.equal(key.status, 201, key.text);
      const allowed = await national.call('PUT', '/api/v1/wallet/counters/MEAL/clients',
        { client_type: 'api_key', client_id: key.body.id, may_load: true, may_debit: false });
      assert.equal(allowed.status, 204, allowed.text);
      assert.deepEqual(sql(server, `SELECT may_load, may_debit FROM wallet_counter_clients WHERE client_id = ${key.body.id}`)
        .map((r) => r.map((v) => ['1', 't', 'true'].includes(v))), [[true, false]]);
      expectProblem(await national.call('PUT', '/api/v1/wallet/counters/MEAL/clients',
        { client_type: 'api_key', client_id: 999999, may_load: true, may_debit: true }), 404, 'client_not_found');
      expectValidation(await national.call('PUT', '/api/v1/wallet/counters/MEAL/clients',
        { client_type: 'printer', client_id: key.body.id, may_load: true, may_debit: true }), ['/client_type']);
      const restored = await national.call('PUT', '/api/v1/wallet/thresholds', { max_transaction: { desfire: 5000 }, max_balance: 100000 });
      assert.equal(restored.status, 200, restored.text);
    });

    test('an institution system creates holders with an API key holding the right', async () => {
      const key = await regional.call('POST', '/api/v1/api-keys',
        { organisation_id: grenoble.id, label: 'SI scolarité', scopes: ['wallet.holders.create', 'wallet.holders.read'] });
      assert.equal(key.status, 201, key.text);
      const headers = { authorization: `Bearer ${key.body.secret}` };
      const created = await request(server, 'POST', '/api/v1/wallet/holders', { json: newHolder(grenoble.id), headers });
      assert.equal(created.status, 201, created.text);
      const elsewhere = await request(server, 'POST', '/api/v1/wallet/holders', { json: newHolder(lyon.id), headers });
      expectProblem(elsewhere, 403, 'forbidden');
      const audit = await regional.call('GET', `/api/v1/audit/wallet_holder/${created.body.id}`);
      assert.equal(audit.body.entries[0].actor_type, 'api_key');
    });

    test('an XML upload is checked against its schema, processed by a job with a report and an error file', async () => {
      const existing = (await manager.call('POST', '/api/v1/wallet/holders', newHolder(grenoble.id))).body;
      const tag = `${backend}${Date.now()}`;
      const xml = uploadXml(grenoble.id, [
        { action: 'create', university_id: `X1-${tag}`, last_name: 'Petit', first_name: 'Léon', email: `leon.${tag}@etu.example.org`, card: `XC1-${tag}` },
        { action: 'create', university_id: existing.university_id, last_name: 'Double', first_name: 'Dan', email: `dan.${tag}@etu.example.org`, card: `XC2-${tag}` },
        { action: 'update', university_id: existing.university_id, tariff_profile: 'boursier' },
        { action: 'update', university_id: `UNKNOWN-${tag}`, tariff_profile: 'boursier' },
        { action: 'create', university_id: `X5-${tag}`, last_name: 'Sans', first_name: 'Carte', email: `carte.${tag}@etu.example.org` },
      ]);
      const headers = { 'content-type': 'application/xml' };
      const invalid = await request(server, 'POST', '/api/v1/wallet/uploads',
        { body: xml.replace('action="update"', 'action="delete"'), headers: { ...headers, cookie: manager.cookie, 'x-csrf-token': manager.csrf } });
      const problem = expectProblem(invalid, 422, 'invalid_xml');
      assert.ok(problem.errors.some((e) => /^\/line\/\d+$/.test(e.pointer) && /delete/.test(e.message)), invalid.text);
      const notXml = await manager.call('POST', '/api/v1/wallet/uploads', { holders: [] });
      expectProblem(notXml, 415, 'unsupported_media_type');
      const doctype = await request(server, 'POST', '/api/v1/wallet/uploads', {
        body: xml.replace('<holders', '<!DOCTYPE holders [<!ENTITY x "y">]>\n<holders'),
        headers: { ...headers, cookie: manager.cookie, 'x-csrf-token': manager.csrf } });
      expectProblem(doctype, 422, 'invalid_xml');

      const accepted = await request(server, 'POST', '/api/v1/wallet/uploads?file_name=rentree.xml',
        { body: xml, headers: { ...headers, cookie: manager.cookie, 'x-csrf-token': manager.csrf } });
      assert.equal(accepted.status, 202, accepted.text);
      assert.equal(accepted.body.lines_total, 5);
      const done = await pollUntil(async () => {
        const r = await manager.call('GET', `/api/v1/wallet/uploads/${accepted.body.id}`);
        return r.body.state === 'done' ? r : null;
      }, { timeoutMs: 20000, what: 'the upload job' });
      assert.deepEqual(done.body.report.map((l) => [l.line, l.outcome, l.code]), [
        [1, 'created', ''], [2, 'failed', 'holder_duplicate'], [3, 'updated', ''], [4, 'failed', 'holder_not_found'],
        [5, 'failed', 'validation_failed']]);
      assert.equal(done.body.lines_failed, 3);
      const errors = await request(server, 'GET', `/api/v1/wallet/uploads/${accepted.body.id}/errors`, { headers: { cookie: manager.cookie } });
      assert.equal(errors.status, 200, errors.text);
      assert.match(errors.headers.get('content-type'), /application\/xml/);
      assert.match(errors.text, /holder_duplicate/);
      assert.equal((errors.text.match(/<holder /g) ?? []).length, 3);
      assert.ok(!errors.text.includes(`X1-${tag}`), 'a created line is not in the error file');
      // The error file is itself a valid upload once corrected.
      const again = await request(server, 'POST', '/api/v1/wallet/uploads',
        { body: errors.text, headers: { ...headers, cookie: manager.cookie, 'x-csrf-token': manager.csrf } });
      assert.equal(again.status, 202, again.text);
      const changes = (await manager.call('GET', `/api/v1/wallet/holders/${existing.id}/changes`)).body.changes;
      assert.ok(changes.some((c) => c.field === 'tariff_profile' && c.source === 'upload' && c.new_value === 'boursier'));
      const leon = (await manager.call('GET', `/api/v1/wallet/holders?university_id=X1-${tag}`)).body.holders;
      assert.equal(leon.length, 1);
      assert.equal(activationTokens(server, `leon.${tag}@etu.example.org`).length, 1);
      assert.equal((await regional.call('GET', `/api/v1/wallet/uploads/${accepted.body.id}`)).status, 200);
      expectProblem(await cityAdmin.call('GET', `/api/v1/wallet/uploads/${accepted.body.id}`), 403, 'forbidden');
      expectProblem(await manager.call('GET', '/api/v1/wallet/uploads/999999'), 404, 'upload_not_found');
    });

    test('a manager resends the activation message', async () => {
      const body = newHolder(grenoble.id);
      const created = (await manager.call('POST', '/api/v1/wallet/holders', body)).body;
      const resent = await manager.call('POST', `/api/v1/wallet/holders/${created.id}/activation-message`, {});
      assert.equal(resent.status, 204, resent.text);
      assert.equal(activationTokens(server, body.email).length, 2);
      assert.equal(sql(server, `SELECT activation_sends FROM wallet_holders WHERE id = ${created.id}`)[0][0], '2');
      expectProblem(await merchant.call('POST', `/api/v1/wallet/holders/${created.id}/activation-message`, {}), 403, 'forbidden');
    });
  });
}
