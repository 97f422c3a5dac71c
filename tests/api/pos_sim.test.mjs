// The point-of-sale simulator (tools/pos-sim) against the real binary: its command line pairs and
// pays; its library checks the clock, pays in three phases (positive and negative), takes a cash
// pack, cancels, keeps its key in its state file and reports refusals by code; offline, it numbers
// its events without gaps and uploads them as one signed batch (checked with the diagnostics
// kinds), survives a lost answer, reads feeds page by page; and a payment taken while the
// network is down is uploaded and applied — that last part waits for the wallet's offline kinds
// and is skipped, saying so, while the server answers them unknown.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { backends, projectRoot, startServer } from '../support/server.mjs';
import { request } from './lib.mjs';
import { HolderClient } from './wallet_support.mjs';
import { importTypeScript } from '../support/typescript.mjs';
import { KINDS, OPPOSITIONS_FEED, Refusal, Till, batchSigningString, canonicalJson } from '../../tools/pos-sim/lib.mjs';
import { approvedPoint, createMerchant, demoStaff } from '../../tools/pos-sim/provision.mjs';

const qr = await importTypeScript('src/wallet/qr_phone.ts');
const run = promisify(execFile);
const cli = join(projectRoot, 'tools/pos-sim/cli.mjs');
const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };
const hugoCard = '04A1B2C3D4E5F7';
const hugo = 'hugo.bernard@etu.demo.guichet.fr';
const demoPassword = 'Vercors-Granit-Saule-47';
const euros = (balance) => balance.balances.find((b) => b.counter === 'EUR').available;

async function refusal(promise) {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Refusal) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

test('canonical JSON and the batch signing string are those of docs/offline-sync.md', () => {
  assert.equal(canonicalJson({ n: 350, c: 'EUR' }), '{"c":"EUR","n":350}');
  assert.equal(canonicalJson({ b: [1, { z: true, a: null }], 'é': 'x\n' }), '{"b":[1,{"a":null,"z":true}],"é":"x\\n"}');
  assert.throws(() => canonicalJson({ n: 1.5 }), /integers only/);
  assert.equal(batchSigningString({ device_id: 17, batch_id: 'b1',
    events: [{ seq: 41, kind: 'wallet.debit', at_ms: 1796540000123, payload: { n: 350, c: 'EUR' } }] }),
  'guichet-sync-batch-v1\n17\nb1\n1\n41\nwallet.debit\n1796540000123\n{"c":"EUR","n":350}\n');
});

for (const backend of backends()) {
  describe(`point-of-sale simulator (${backend})`, () => {
    let server; let staff; let merchant;
    const dir = mkdtempSync(join(tmpdir(), 'pos-sim-'));
    before(async () => {
      server = await startServer({ backend, demo: true, env: fastHashing });
      staff = await demoStaff(server.url);
      merchant = await createMerchant(staff, `Cafétéria simulée ${backend}`);
    });
    after(async () => { await server?.stop(); });

    let serial = 0;
    async function pairedTill() {
      serial += 1;
      const { code } = await approvedPoint(staff, merchant, { tag: `SIMT-${backend}-${serial}` });
      const till = new Till({ url: server.url, statePath: join(dir, `till-${serial}.json`) });
      await till.pair(code);
      return till;
    }

    test('the command line pairs with a code, checks the clock and pays; refusals come out as codes', async () => {
      const { code } = await approvedPoint(staff, merchant, { tag: `SIMCLI-${backend}` });
      const state = join(dir, 'cli.json');
      const paired = JSON.parse((await run('node', [cli, 'pair', '--url', server.url, '--code', code, '--state', state])).stdout);
      assert.equal(typeof paired.device_id, 'number');
      const kept = JSON.parse(readFileSync(state, 'utf8'));
      assert.equal(kept.device_id, paired.device_id, 'the state file keeps the device and its key');
      const clock = JSON.parse((await run('node', [cli, 'clock', '--state', state])).stdout);
      assert.equal(clock.drift_max_ms, 30000);
      await run('node', [cli, 'cash-reload', '--state', state, '--support', hugoCard, '--amount', '1000']);
      const paid = JSON.parse((await run('node', [cli, 'pay', '--state', state, '--support', hugoCard, '--amount', '330'])).stdout);
      assert.equal(paid.mode, 'online');
      assert.equal(paid.debit.state, 'pending');
      assert.equal(paid.acknowledgement.state, 'acknowledged');
      const refused = await run('node', [cli, 'pay', '--state', state, '--support', 'NO-SUCH-CARD', '--amount', '330'])
        .then(() => assert.fail('a refusal exits non-zero'), (error) => error);
      assert.equal(refused.code, 2);
      assert.equal(JSON.parse(refused.stdout).refused, 'support_not_found');
    });

    test('the library pays positively and negatively, takes a cash pack, cancels, and applies nothing on refusal', async () => {
      const till = await pairedTill();
      const reopened = Till.open({ statePath: till.statePath });
      assert.equal((await reopened.clock()).drift_max_ms, 30000, 'the key kept in the state file still signs');
      reopened.close();
      assert.equal((await till.cashReload({ support_number: hugoCard, amount: 2000 })).mode, 'online');
      const start = euros(await till.balance({ support_number: hugoCard }));
      const paid = await till.pay({ support_number: hugoCard, amount: 250 });
      assert.equal(paid.acknowledgement.state, 'acknowledged');
      assert.equal(euros(await till.balance({ support_number: hugoCard })), start - 250);
      const abandoned = await till.pay({ support_number: hugoCard, amount: 400, positive: false });
      assert.equal(abandoned.acknowledgement.state, 'voided');
      assert.equal(euros(await till.balance({ support_number: hugoCard })), start - 250);
      const cancelled = await till.cancel(paid.point_txn_id);
      assert.equal(cancelled.answer.state, 'acknowledged');
      assert.equal((await till.transaction(paid.point_txn_id)).state, 'cancelled');
      assert.equal(euros(await till.balance({ support_number: hugoCard })), start);
      const ids = new Set([paid.point_txn_id, abandoned.point_txn_id, cancelled.point_txn_id]);
      assert.equal(ids.size, 3, 'every operation has its own point_txn_id');
      assert.equal((await refusal(till.pay({ support_number: hugoCard, amount: 0 }))).code, 'amount_invalid');
      assert.equal((await refusal(till.pay({ support_number: hugoCard, amount: start + 1 }))).code, 'insufficient_funds');
      assert.equal((await refusal(till.cashReload({ support_number: hugoCard, amount: 700 }))).code, 'cash_pack_invalid');
      assert.equal(euros(await till.balance({ support_number: hugoCard })), start, 'nothing applied by the refusals');
      assert.deepEqual(till.queue, [], 'a refusal is never queued for later');
      till.close();
    });

    test('offline events get contiguous seqs and go as one signed batch; a lost answer is answered as a duplicate', async () => {
      const till = await pairedTill();
      till.offline = true;
      const account = `sim-${backend}`;
      for (const [kind, payload] of [['diagnostics.note', { i: 1 }], ['diagnostics.debit', { a: account, n: 5 }],
        ['diagnostics.note', { i: 3, s: 'é\n' }]]) till.store(kind, payload);
      assert.deepEqual(till.queue.map((e) => e.seq), [1, 2, 3]);
      assert.deepEqual(Till.open({ statePath: till.statePath }).queue, till.queue, 'the queue is on disk');
      // The first upload's answer is "lost": the till still holds the events and sends them again.
      const first = await till.call('POST', '/api/v1/sync/batches', till.signBatch(till.queue));
      assert.equal(first.status, 200, first.text);
      const report = await till.sync({ feeds: false });
      assert.equal(report.batches.length, 1);
      assert.equal(report.batches[0].duplicate, true, 'the same batch, answered from what was stored');
      assert.deepEqual(report.outcomes.map((o) => [o.seq, o.state]), [[1, 'applied'], [2, 'waiting'], [3, 'applied']]);
      assert.equal(report.outcomes[1].code, 'insufficient_funds');
      assert.deepEqual(till.queue, []);
      // Later events continue the numbering; the feeds are read page by page to the end.
      till.store('diagnostics.note', {});
      const made = await request(server, 'POST', '/api/v1/diagnostics/sync/items', { json: { count: 1200 } });
      assert.equal(made.status, 201, made.text);
      const next = await till.sync({ feeds: false });
      assert.deepEqual(next.outcomes.map((o) => [o.seq, o.state]), [[4, 'applied']]);
      const feed = await till.readFeed('diagnostics.items');
      assert.equal(Object.keys(feed.items).length, 1200);
      assert.deepEqual(feed.items.i000042, { n: 42, l: 'article de test' });
      const status = await till.refreshFeeds();
      assert.equal(status.qr_key, 'ok');
      assert.ok(till.state.qr_key.keys.length > 0);
      till.close();
    });

    test('offline, the till refuses opposed supports and bad QR codes itself and queues the rest', async () => {
      const till = await pairedTill();
      assert.equal((await till.refreshFeeds()).qr_key, 'ok');
      const holder = new HolderClient(server);
      assert.equal((await holder.call('POST', '/api/v1/wallet/holder-session', { email: hugo, password: demoPassword })).status, 200);
      const phone = await qr.generatePhoneKey();
      const enrolled = await holder.call('POST', '/api/v1/wallet/me/phones', { public_key: qr.toBase64Url(phone.publicKey), label: 'Simulateur' });
      assert.equal(enrolled.status, 201, enrolled.text);
      const code = await qr.makeQrCode(enrolled.body.phone.certificate, phone, 1, Math.floor(Date.now() / 1000));
      till.offline = true;
      const taken = await till.pay({ qr: code, amount: 200 });
      assert.equal(taken.mode, 'offline');
      assert.deepEqual(taken.event.payload, { point_txn_id: taken.point_txn_id, amount: 200, counter: 'EUR', qr: code });
      const forged = code.slice(0, -4) + (code.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      const refusedQr = await refusal(till.pay({ qr: forged, amount: 200 }));
      assert.equal(refusedQr.local, true);
      assert.ok(['qr_signature_invalid', 'qr_malformed'].includes(refusedQr.code), refusedQr.code);
      // The revoked phones and oppositions as the feeds would give them.
      till.state.feeds['wallet.qr_revoked_phones'] = { cursor: '', items: { [String(enrolled.body.phone.id)]: {} } };
      const again = await qr.makeQrCode(enrolled.body.phone.certificate, phone, 2, Math.floor(Date.now() / 1000));
      assert.equal((await refusal(till.pay({ qr: again, amount: 200 }))).code, 'qr_phone_revoked');
      till.state.feeds[OPPOSITIONS_FEED] = { cursor: '', items: { [hugoCard]: { s: 'lost' } } };
      assert.equal((await refusal(till.pay({ support_number: hugoCard, amount: 100 }))).code, 'support_opposed');
      assert.deepEqual(till.queue.map((e) => e.seq), [1], 'only the accepted payment is queued');
      till.close();
    });

    test('a payment taken while the network is down is uploaded and applied once back', async (t) => {
      const till = await pairedTill();
      await till.cashReload({ support_number: hugoCard, amount: 1000 });
      const start = euros(await till.balance({ support_number: hugoCard }));
      // The same device behind a dead address: the connection is refused, the till stores.
      const cut = new Till({ url: 'http://127.0.0.1:9', statePath: till.statePath, state: till.state });
      const taken = await cut.pay({ support_number: hugoCard, amount: 330 });
      assert.equal(taken.mode, 'offline');
      assert.deepEqual(taken.event.payload, { point_txn_id: taken.point_txn_id, amount: 330, counter: 'EUR', support_number: hugoCard });
      assert.equal(taken.event.kind, KINDS.debit);
      cut.close();
      const back = Till.open({ statePath: till.statePath, url: server.url });
      assert.equal(back.queue.length, 1);
      const report = await back.sync();
      assert.equal(report.outcomes.length, 1, 'the batch was sent and answered');
      assert.deepEqual(back.queue, []);
      const [outcome] = report.outcomes;
      if (outcome.state === 'refused' && outcome.code === 'event_kind_unknown') {
        t.skip('this server has no wallet offline kinds yet (wallet.debit answered event_kind_unknown)');
        back.close();
        return;
      }
      assert.equal(outcome.state, 'applied', JSON.stringify(outcome));
      assert.equal(euros(await back.balance({ support_number: hugoCard })), start - 330);
      if (report.feeds[OPPOSITIONS_FEED] === 'ok') {
        back.state.feeds[OPPOSITIONS_FEED].items.OPPOSED = { k: 1 };
        back.offline = true;
        assert.equal((await refusal(back.pay({ support_number: 'OPPOSED', amount: 100 }))).code, 'support_opposed');
        assert.equal(back.queue.length, 0, 'refused locally, nothing queued');
      }
      back.close();
    });
  });
}
