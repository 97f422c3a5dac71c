// Delivery throughput to a local SMTP server (issue 4): messages/s from the outbox to maildev
// through the real binary (claim, compose, MIME, SMTP, record), after the messages were queued.
// Baseline in the same run: plain SMTP (no TLS, no AUTH); compared with STARTTLS + AUTH.
//   node bench/notify_delivery.mjs [messages=1000]      (PostgreSQL too when GUICHET_TEST_PG is set)
import { execFileSync } from 'node:child_process';
import { startServer, backends } from '../tests/support/server.mjs';
import { startMaildev } from '../tests/support/maildev.mjs';

const total = Number(process.argv[2] ?? 1000);

function sentCount(server, db) {
  const sql = "SELECT count(*) FROM outbox_messages WHERE state = 'sent'";
  const out = server.backend === 'postgres'
    ? execFileSync('psql', [db, '-qAt', '-c', sql])
    : execFileSync('sqlite3', [db.replace(/^sqlite:/, ''), sql]);
  return Number(out.toString().trim());
}

async function run(backend, maildev, tls) {
  const env = {
    GUICHET_SMTP_URL: `smtp://127.0.0.1:${maildev.smtp}`,
    GUICHET_SMTP_STARTTLS: tls ? 'required' : 'off',
    GUICHET_SMTP_USER: tls ? maildev.user : '', GUICHET_SMTP_PASSWORD: tls ? maildev.pass : '',
    GUICHET_SMTP_CA_FILE: tls ? maildev.ca : '',
    GUICHET_LOG_LEVEL: 'warn', GUICHET_NOTIFY_BATCH_MESSAGES_MAX: '100',
  };
  // Queue with no worker, then measure a server that only delivers.
  const filler = await startServer({ backend, env: { ...env, GUICHET_JOBS_WORKERS: '0' } });
  for (let i = 0; i < total; i += 100) {
    const messages = [];
    for (let j = i; j < Math.min(total, i + 100); j++) {
      messages.push({ channel: 'email', recipient: `bench${j}@example.fr`, template_code: 'bench',
        variables: { subject: `Relevé n° ${j}`, text: 'Bonjour,\nvotre relevé est disponible.', html: '<p>Bonjour</p>' } });
    }
    const r = await fetch(`${filler.url}/api/v1/diagnostics/messages`, { method: 'POST',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ messages }) });
    if (r.status !== 201) throw new Error(await r.text());
  }
  const db = filler.db;
  filler.process.kill('SIGTERM');
  await filler.exited;
  const started = performance.now();
  const server = await startServer({ backend, env: { ...env, GUICHET_DB: db, GUICHET_JOBS_WORKERS: '2' } });
  while (sentCount(server, db) < total) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - started) / 1000;
  await server.stop();
  await filler.stop();
  return total / seconds;
}

const plain = await startMaildev({ user: '' });
const secure = await startMaildev();
console.log(`${total} messages (text + HTML), 2 workers, batches of 100, maildev on this machine`);
console.log('backend     smtp                 messages/s   ratio');
for (const backend of backends()) {
  const baseline = await run(backend, plain, false);
  const tls = await run(backend, secure, true);
  console.log(`${backend.padEnd(11)} plain (baseline)     ${baseline.toFixed(0).padStart(10)}    1.00`);
  console.log(`${backend.padEnd(11)} STARTTLS + AUTH      ${tls.toFixed(0).padStart(10)}    ${(tls / baseline).toFixed(2)}`);
}
await plain.stop();
await secure.stop();
