// Message delivery end to end (issue 4): the real binary sends e-mail to a real SMTP server
// (maildev, STARTTLS + AUTH, certificate checked) and SMS to the SMS gateway simulator, records
// every attempt, retries and gives up, marks bad addresses, and keeps "at most once" across a
// real restart in the middle of a delivery.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backends, startServer } from '../support/server.mjs';
import { freePort, startMaildev } from '../support/maildev.mjs';
import { startSmsSimulator } from '../support/sms-gateway-simulator/start.mjs';
import { pollUntil, postJson } from './lib.mjs';
import { Client } from './identity_client.mjs';

const reportSecret = 'report-secret-for-tests';
const unreachable = '+33699999999';
const pdf = Buffer.from('%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n' +
  '2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n' +
  'binary: \u00e9\u00e8\u0000\u00ff', 'latin1');

// ---- A small MIME reader, to check the structure the server built ----------------------------

function splitHead(text) {
  const at = text.indexOf('\r\n\r\n');
  const head = text.slice(0, at).replace(/\r\n[ \t]/g, ' ');
  const headers = {};
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: text.slice(at + 4) };
}

function parsePart(text) {
  const { headers, body } = splitHead(text);
  const type = headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="([^"]+)"/.exec(type)?.[1];
  const part = { headers, type: type.split(';')[0].trim(), body, parts: [] };
  if (boundary) {
    const pieces = body.split(`--${boundary}`);
    assert.ok(pieces.at(-1).startsWith('--'), 'closing boundary present');
    for (const piece of pieces.slice(1, -1)) part.parts.push(parsePart(piece.replace(/^\r\n/, '').replace(/\r\n$/, '')));
  }
  return part;
}

function decode(part) {
  const encoding = (part.headers['content-transfer-encoding'] ?? '').toLowerCase();
  if (encoding === 'base64') return Buffer.from(part.body.replace(/\s+/g, ''), 'base64');
  if (encoding === 'quoted-printable') {
    const soft = part.body.replace(/=\r\n/g, '');
    return Buffer.from(soft.replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  }
  return Buffer.from(part.body, 'latin1');
}

function sign(body) { return createHmac('sha256', reportSecret).update(body).digest('hex'); }

async function queue(server, message) {
  const r = await postJson(server, '/api/v1/diagnostics/messages', message);
  assert.equal(r.status, 201, r.text);
  return r.body.id;
}

async function stalledSmtpServer() {
  // Accepts connections and never greets: a delivery hangs there until killed.
  const sockets = new Set();
  const server = createServer((socket) => { sockets.add(socket); socket.on('error', () => {}); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, close: () => { for (const s of sockets) s.destroy(); server.close(); } };
}

for (const backend of backends()) {
  describe(`message delivery (${backend})`, () => {
    let maildev; let sms; let server; let staff; let cityId; let syndicateId; let port; let env;
    const tmp = mkdtempSync(join(tmpdir(), 'guichet-notify-'));

    before(async () => {
      maildev = await startMaildev({ unknownMailboxes: '^inconnu' });
      sms = await startSmsSimulator({ secret: reportSecret, unreachable: [unreachable] });
      port = await freePort();
      env = {
        GUICHET_HTTP_PORT: String(port),
        GUICHET_SMTP_URL: `smtp://127.0.0.1:${maildev.smtp}`,
        GUICHET_SMTP_USER: maildev.user,
        GUICHET_SMTP_PASSWORD: maildev.pass,
        GUICHET_SMTP_STARTTLS: 'required',
        GUICHET_SMTP_CA_FILE: maildev.ca,
        GUICHET_SMTP_FROM_ADDRESS: 'ne-pas-repondre@guichet.example',
        GUICHET_SMS_GATEWAY_URL: sms.url,
        GUICHET_SMS_API_KEY: sms.apiKey,
        GUICHET_SMS_REPORT_URL: `http://127.0.0.1:${port}/api/v1/notify/sms/reports`,
        GUICHET_NOTIFY_REPORT_SECRET: reportSecret,
        GUICHET_NOTIFY_POLL_MS: '1000',
        GUICHET_NOTIFY_BACKOFF_BASE_MS: '10',
        GUICHET_NOTIFY_BACKOFF_MAX_MS: '50',
        GUICHET_NOTIFY_ATTEMPTS_MAX: '3',
        GUICHET_JOBS_POLL_MS: '50',
      };
      server = await startServer({ backend, demo: true, env });
      staff = new Client(server);
      const login = await staff.login('syndicate.admin@demo.guichet.fr');
      assert.equal(login.status, 200, login.text);
      const orgs = await staff.call('GET', '/api/v1/organisations');
      cityId = orgs.body.organisations.find((o) => o.name === 'Ville de Vénissieux').id;
      syndicateId = orgs.body.organisations.find((o) => o.name.startsWith('SITIV — ')).id;
    });
    after(async () => {
      await server?.stop();
      await sms?.stop();
      await maildev?.stop();
      rmSync(tmp, { recursive: true, force: true });
    });

    async function message(id) {
      const r = await staff.call('GET', `/api/v1/notify/messages/${id}`);
      assert.equal(r.status, 200, r.text);
      return r.body;
    }
    const settled = (id, states) => pollUntil(async () => {
      const m = await message(id);
      return states.includes(m.state) ? m : null;
    }, { timeoutMs: 20000, what: `message ${id} in ${states}` });

    test('e-mail: the organisation sender inherited, MIME parts, inline QR, PDF, headers, over STARTTLS + AUTH', async () => {
      const set = await staff.call('PUT', `/api/v1/organisations/${syndicateId}/sender`, {
        from_address: 'contact@sitiv.example', display_name: 'SITIV — Vénissieux', reply_to: 'accueil@sitiv.example',
      });
      assert.equal(set.status, 200, set.text);
      const inherited = await staff.call('GET', `/api/v1/organisations/${cityId}/sender`);
      assert.equal(inherited.body.organisation_id, syndicateId);
      const subject = 'Votre facture de décembre — École Parilly ✓';
      const text = 'Bonjour Clémence,\nVoici votre facture. ' + 'Une ligne très longue '.repeat(10) + '\n=fin=';
      const id = await queue(server, {
        channel: 'email', recipient: 'Clemence.Martin@Example.FR', template_code: 'test.invoice',
        organisation_id: cityId,
        variables: {
          subject, text, html: '<p>Bonjour Clémence,</p><p><img src="cid:qr" alt="QR"></p>',
          qr: 'GUICHET-QR-4242', unsubscribe_url: 'https://guichet.example/u/abc',
          attachments: [{ filename: 'facture-2026-12.pdf', content_type: 'application/pdf', base64: pdf.toString('base64') }],
        },
      });
      const sent = await settled(id, ['sent']);
      assert.equal(sent.log.length, 1);
      assert.equal(sent.log[0].outcome, 'sent');
      assert.equal(sent.log[0].status_code, 250);
      const mail = await pollUntil(async () => (await maildev.emails()).find((e) => e.to?.[0]?.address === 'clemence.martin@example.fr'),
        { what: 'the e-mail in maildev' });
      assert.equal(mail.subject, subject, 'RFC 2047 subject decodes to the original');
      assert.equal(mail.from[0].name, 'SITIV — Vénissieux');
      const source = await maildev.source(mail.id);
      for (const line of source.split('\r\n')) assert.ok(line.length <= 78, `line too long: ${line.slice(0, 80)}`);
      const top = parsePart(source);
      assert.match(top.headers['message-id'], /^<m\d+\.[0-9a-f]{32}@sitiv\.example>$/);
      assert.equal(sent.provider_reference, top.headers['message-id']);
      assert.match(top.headers.date, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
      assert.equal(top.headers['list-unsubscribe'], '<https://guichet.example/u/abc>');
      assert.equal(top.headers['list-unsubscribe-post'], 'List-Unsubscribe=One-Click');
      assert.equal(top.headers['auto-submitted'], 'auto-generated');
      assert.equal(top.headers['reply-to'], '<accueil@sitiv.example>');
      assert.equal(top.type, 'multipart/mixed');
      const [related, attachment] = top.parts;
      assert.equal(related.type, 'multipart/related');
      const [alternative, image] = related.parts;
      assert.equal(alternative.type, 'multipart/alternative');
      assert.deepEqual(alternative.parts.map((p) => p.type), ['text/plain', 'text/html']);
      assert.equal(decode(alternative.parts[0]).toString('utf8'), text.replace(/\n/g, '\r\n'));
      assert.match(decode(alternative.parts[1]).toString('utf8'), /cid:qr/);
      assert.equal(image.headers['content-id'], '<qr>');
      const png = join(tmp, `qr-${backend}.png`);
      writeFileSync(png, decode(image));
      assert.equal(execFileSync('zbarimg', ['--raw', '-q', png]).toString().trim(), 'GUICHET-QR-4242');
      assert.match(attachment.headers['content-disposition'], /attachment; filename="facture-2026-12.pdf"/);
      assert.ok(decode(attachment).equals(pdf), 'PDF bytes intact');
    });

    test('DKIM: a sender with a key signs its mail; Mail::DKIM verifies it, and a changed body fails', async () => {
      const key = join(tmp, `dkim-${backend}.pem`);
      execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key], { stdio: 'pipe' });
      const publicDer = execFileSync('openssl', ['pkey', '-in', key, '-pubout', '-outform', 'DER']);
      const record = `v=DKIM1; k=rsa; p=${publicDer.toString('base64')}`;
      const set = await staff.call('PUT', `/api/v1/organisations/${cityId}/sender`, {
        from_address: 'mairie@venissieux.example', display_name: 'Mairie de Vénissieux',
        dkim_selector: 'guichet2026', dkim_private_key: (await import('node:fs')).readFileSync(key, 'utf8'),
      });
      assert.equal(set.status, 200, set.text);
      assert.equal(set.body.dkim_key_set, true);
      assert.equal(set.body.dkim_private_key, undefined, 'the key is never read back');
      const id = await queue(server, { channel: 'email', recipient: 'dkim@example.fr', template_code: 'test.dkim',
        organisation_id: cityId, variables: { subject: 'Signé — DKIM', text: 'Corps  avec  espaces \n\n', html: '<p>é</p>',
          qr: 'DKIM-QR' } });
      await settled(id, ['sent']);
      const mail = await pollUntil(async () => (await maildev.emails()).find((e) => e.to?.[0]?.address === 'dkim@example.fr'),
        { what: 'the signed e-mail' });
      const source = await maildev.source(mail.id);
      assert.match(source, /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=venissieux\.example; s=guichet2026;/);
      const verify = (text) => {
        try {
          return execFileSync('perl', ['tests/support/dkim-verify.pl', record], { input: text }).toString();
        } catch (error) { return error.stdout.toString(); }
      };
      assert.match(verify(source), /^pass/);
      assert.match(verify(source.replace('Corps', 'Corps modifi\u00e9')), /^fail/);
      const removed = await staff.call('PUT', `/api/v1/organisations/${cityId}/sender`, {
        from_address: 'mairie@venissieux.example', display_name: 'Mairie de Vénissieux' });
      assert.equal(removed.body.dkim_key_set, false);
    });

    test('SMS: delivered report, unreachable number bounced and marked bad, later messages rejected unsent', async () => {
      const ok = await queue(server, { channel: 'sms', recipient: '06 12 34 56 78', template_code: 'test.sms',
        organisation_id: cityId, variables: { text: 'Votre code : 1234' } });
      await settled(ok, ['delivered']);
      const received = await sms.messages();
      const first = received.find((m) => m.client_reference === `guichet-${ok}`);
      assert.equal(first.to, '+33612345678');
      assert.equal(first.text, 'Votre code : 1234');

      const bad = await queue(server, { channel: 'sms', recipient: unreachable, template_code: 'test.sms',
        organisation_id: cityId, variables: { text: 'Bonjour' } });
      const bounced = await settled(bad, ['bounced']);
      assert.equal(bounced.log.at(-1).outcome, 'bounced');
      const list = await staff.call('GET', '/api/v1/notify/bad-addresses?channel=sms');
      const entry = list.body.items.find((b) => b.address === unreachable);
      assert.equal(entry.source, 'sms_report');
      const again = await queue(server, { channel: 'sms', recipient: unreachable, template_code: 'test.sms',
        organisation_id: cityId, variables: { text: 'Encore' } });
      const rejected = await settled(again, ['rejected']);
      assert.match(rejected.log[0].detail, /marked bad/);
      assert.equal((await sms.messages()).filter((m) => m.to === unreachable).length, 1, 'not sent again');

      // Another tree's staff neither see nor clear it, nor read the message: 404, not 403.
      const stranger = new Client(server);
      assert.equal((await stranger.login('pass.admin@demo.guichet.fr')).status, 200);
      const theirs = await stranger.call('GET', '/api/v1/notify/bad-addresses?channel=sms');
      assert.equal(theirs.status, 200);
      assert.ok(!theirs.body.items.some((b) => b.id === entry.id));
      assert.equal((await stranger.call('POST', `/api/v1/notify/bad-addresses/${entry.id}/clear`, {})).status, 404);
      assert.equal((await stranger.call('GET', `/api/v1/notify/messages/${bad}`)).status, 404);
      assert.equal((await stranger.call('GET', `/api/v1/organisations/${cityId}/sender`)).status, 404);
      const cleared = await staff.call('POST', `/api/v1/notify/bad-addresses/${entry.id}/clear`, { corrected_to: '+33611111111' });
      assert.equal(cleared.status, 200, cleared.text);
      assert.equal(cleared.body.corrected_to, '+33611111111');
      const twice = await staff.call('POST', `/api/v1/notify/bad-addresses/${entry.id}/clear`, {});
      assert.equal(twice.status, 409);
      const audit = await staff.call('GET', `/api/v1/audit/bad_address/${entry.id}`);
      assert.equal(audit.status, 200, audit.text);
      assert.ok(JSON.stringify(audit.body).includes('notify.bad_address.clear'));

      const fixed = await queue(server, { channel: 'sms', recipient: '01 23 45 67 89', template_code: 'test.sms',
        organisation_id: cityId, variables: { text: 'Fixe' } });
      const refused = await settled(fixed, ['rejected']);
      assert.match(refused.last_error, /not a French mobile/);
    });

    test('retries with backoff, then gives up after the bounded attempts (gateway answering 500)', async () => {
      await sms.mode({ status: 500, count: 3 });
      const id = await queue(server, { channel: 'sms', recipient: '+33622222222', template_code: 'test.sms',
        organisation_id: cityId, variables: { text: 'Retry' } });
      const failed = await settled(id, ['failed']);
      assert.equal(failed.attempts, 3);
      assert.deepEqual(failed.log.map((l) => l.outcome), ['retry', 'retry', 'failed']);
      assert.ok(failed.log.every((l) => l.status_code === 500));
      const resend = await staff.call('POST', `/api/v1/notify/messages/${id}/resend`, {});
      assert.equal(resend.status, 200, resend.text);
      await settled(id, ['delivered']);
      const notAgain = await staff.call('POST', `/api/v1/notify/messages/${id}/resend`, {});
      assert.equal(notAgain.status, 409);
    });

    test('bounce reports: signature required; the address is marked and later mail is rejected', async () => {
      const body = JSON.stringify({ channel: 'email', address: 'Clemence.Martin@example.fr', status_code: 550,
        reason: '5.1.1 mailbox unknown' });
      const unsigned = await postJson(server, '/api/v1/notify/bounces', JSON.parse(body), { headers: { 'X-Guichet-Signature': '00' } });
      assert.equal(unsigned.status, 400);
      assert.equal(unsigned.body.code, 'signature_invalid');
      const r = await fetch(`${server.url}/api/v1/notify/bounces`, { method: 'POST', body,
        headers: { 'Content-Type': 'application/json', 'X-Guichet-Signature': sign(body) } });
      assert.equal(r.status, 200, await r.text());
      const list = await staff.call('GET', '/api/v1/notify/bad-addresses?channel=email');
      assert.ok(list.body.items.some((b) => b.address === 'clemence.martin@example.fr' && b.source === 'bounce_report'));
      const id = await queue(server, { channel: 'email', recipient: 'clemence.martin@example.fr', template_code: 'test.x',
        organisation_id: cityId, variables: { subject: 'Encore' } });
      await settled(id, ['rejected']);
    });

    test('a mailbox the SMTP server refuses (550) is marked bad; the next message to it is not tried', async () => {
      const first = await queue(server, { channel: 'email', recipient: 'inconnu@example.fr', template_code: 'test.x',
        organisation_id: cityId, variables: { subject: 'Premier' } });
      const refused = await settled(first, ['rejected']);
      assert.equal(refused.log[0].status_code, 550);
      assert.equal(refused.attempts, 1, 'a permanent refusal is not retried');
      const list = await staff.call('GET', '/api/v1/notify/bad-addresses?channel=email');
      const bad = list.body.items.find((b) => b.address === 'inconnu@example.fr');
      assert.equal(bad.source, 'smtp');
      assert.equal(bad.status_code, 550);
      const second = await queue(server, { channel: 'email', recipient: 'inconnu@example.fr', template_code: 'test.x',
        organisation_id: cityId, variables: { subject: 'Second' } });
      const skipped = await settled(second, ['rejected']);
      assert.equal(skipped.attempts, 0, 'no network try');
    });

    test('SMTP server down: retried, then failed', async () => {
      const other = await startServer({ backend, env: { ...env, GUICHET_HTTP_PORT: '0',
        GUICHET_SMTP_URL: `smtp://127.0.0.1:${await freePort()}`, GUICHET_NOTIFY_ATTEMPTS_MAX: '2' } });
      try {
        const id = await queue(other, { channel: 'email', recipient: 'down@example.fr', template_code: 'test.down' });
        const log = await pollUntil(() => (execState(other, id)?.state === 'failed' ? execState(other, id) : null),
          { timeoutMs: 20000, what: 'failed after retries' });
        assert.equal(log.attempts, 2);
      } finally {
        await other.stop();
      }
    });

    test('restart in the middle of a delivery: e-mail becomes uncertain (not resent); SMS is resent and deduplicated', async () => {
      const stalled = await stalledSmtpServer();
      await sms.mode({ stall: 1 });
      const first = await startServer({ backend, env: { ...env, GUICHET_HTTP_PORT: '0',
        GUICHET_SMTP_URL: `smtp://127.0.0.1:${stalled.port}`, GUICHET_SMTP_TIMEOUT_MS: '600000',
        GUICHET_SMS_TIMEOUT_MS: '120000' } });
      let second;
      try {
        // Both in one transaction, so one delivery run claims both.
        const queued = await postJson(first, '/api/v1/diagnostics/messages', { messages: [
          { channel: 'sms', recipient: '+33633333333', template_code: 'test.restart', variables: { text: 'Une seule fois' } },
          { channel: 'email', recipient: 'restart@example.fr', template_code: 'test.restart', variables: { subject: 'Une seule fois' } },
        ] });
        assert.equal(queued.status, 201, queued.text);
        const [text, mail] = queued.body.ids;
        await pollUntil(() => execState(first, mail)?.state === 'sending' && execState(first, text)?.state === 'sending',
          { timeoutMs: 20000, what: 'both rows sending' });
        await pollUntil(async () => (await sms.messages()).some((m) => m.client_reference === `guichet-${text}`),
          { what: 'the SMS stored by the stalled gateway' });
        first.process.kill('SIGKILL');
        await first.exited;
        stalled.close();
        second = await startServer({ backend, env: { ...env, GUICHET_HTTP_PORT: '0', GUICHET_DB: first.db,
          GUICHET_NOTIFY_LEASE_S: '1' } });
        const uncertain = await pollUntil(() => (execState(first, mail)?.state === 'uncertain' ? execState(first, mail) : null),
          { timeoutMs: 20000, what: 'the e-mail uncertain' });
        assert.equal(uncertain.attempts, 1);
        await pollUntil(() => execState(first, text)?.state === 'sent' || execState(first, text)?.state === 'delivered',
          { timeoutMs: 20000, what: 'the SMS sent after the restart' });
        const copies = (await sms.messages()).filter((m) => m.client_reference === `guichet-${text}`);
        assert.equal(copies.length, 1, 'the gateway kept one message');
        assert.equal(copies[0].duplicates, 1, 'the resubmission was recognised as a duplicate');
        assert.ok(!(await maildev.emails()).some((e) => e.to?.[0]?.address === 'restart@example.fr'), 'no blind resend');
      } finally {
        await second?.stop();
        if (first.process.exitCode === null && first.process.signalCode === null) first.process.kill('SIGKILL');
        await first.stop();
        stalled.close();
      }
    });
  });
}

// Reads a row's delivery state straight from the database of `server` (as first started).
function execState(server, id) {
  const sql = `SELECT state, attempts FROM outbox_messages WHERE id = ${Number(id)}`;
  let out;
  if (server.backend === 'postgres') {
    out = execFileSync('psql', [server.db, '-qAt', '-F', '|', '-c', sql]).toString().trim();
  } else {
    out = execFileSync('sqlite3', ['-separator', '|', server.db.replace(/^sqlite:/, ''), sql]).toString().trim();
  }
  if (!out) return null;
  const [state, attempts] = out.split('|');
  return { state, attempts: Number(attempts) };
}
