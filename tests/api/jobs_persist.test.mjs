// Jobs live in the database, not in memory: a job scheduled before a stop runs after the next
// start on the same database. Each backend gets a database owned by this test, so that both
// servers can use it (the harness drops its own database when a server stops).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startServer, backends } from '../support/server.mjs';
import { get, postJson, pollUntil } from './lib.mjs';

const jobsPath = '/api/v1/diagnostics/jobs';
const env = { GUICHET_JOBS_POLL_MS: '20', GUICHET_JOBS_BACKOFF_BASE_MS: '20' };

/** A database that outlives one server: `{url, drop}`. */
function ownDatabase(backend) {
  if (backend === 'postgres') {
    const base = process.env.GUICHET_TEST_PG;
    const name = 'api_persist_' + randomBytes(6).toString('hex');
    execFileSync('psql', [base, '-qAt', '-c', `CREATE DATABASE ${name}`], { stdio: 'pipe' });
    const url = new URL(base);
    url.pathname = '/' + name;
    return {
      url: url.toString(),
      drop: () => execFileSync('psql', [base, '-qAt', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`],
        { stdio: 'pipe' }),
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'guichet-persist-'));
  return { url: 'sqlite:' + join(dir, 'guichet.db'), drop: () => rmSync(dir, { recursive: true, force: true }) };
}

async function job(server, id) {
  const r = await get(server, `${jobsPath}/${id}`);
  assert.equal(r.status, 200, `GET job ${id} on the restarted server: ${r.status} ${r.text}`);
  return r.body;
}

for (const backend of backends()) {
  describe(`jobs survive a restart (${backend})`, () => {
    let database;
    const servers = [];
    before(() => { database = ownDatabase(backend); });
    after(async () => {
      for (const server of servers) await server.stop();
      database?.drop();
    });

    test('a delayed job queued before a stop runs after the next start', async () => {
      const first = await startServer({ backend, env: { ...env, GUICHET_DB: database.url } });
      servers.push(first);
      const soon = await postJson(first, jobsPath, { delay_ms: 2000 });
      assert.equal(soon.status, 202, soon.text);
      const later = await postJson(first, jobsPath, { delay_ms: 3600000 });
      assert.equal(later.status, 202, later.text);
      const done = await postJson(first, jobsPath, {});
      assert.equal(done.status, 202, done.text);
      await pollUntil(async () => (await job(first, done.body.id)).state === 'succeeded',
        { what: 'an immediate job to succeed before the stop' });
      const beforeStop = await job(first, later.body.id);
      assert.equal((await job(first, soon.body.id)).state, 'queued', 'the 2 s job has not run yet');

      const stopped = await first.stop();
      assert.deepEqual(stopped, { code: 0, signal: null }, 'the first server exits cleanly');

      const second = await startServer({ backend, env: { ...env, GUICHET_DB: database.url } });
      servers.push(second);
      const ran = await pollUntil(async () => {
        const j = await job(second, soon.body.id);
        if (j.state === 'dead') throw new Error(`job died: ${JSON.stringify(j)}`);
        return j.state === 'succeeded' ? j : undefined;
      }, { timeoutMs: 15000, what: 'the delayed job to run on the restarted server' });
      assert.equal(ran.attempts, 1);

      const kept = await job(second, later.body.id);
      assert.equal(kept.state, 'queued', 'a job due in an hour is still waiting');
      assert.equal(kept.run_at && Date.parse(kept.run_at), Date.parse(beforeStop.run_at),
        'run_at is unchanged by the restart');
      assert.equal((await job(second, done.body.id)).state, 'succeeded', 'finished jobs stay finished');

      const next = await postJson(second, jobsPath, {});
      assert.equal(next.status, 202, next.text);
      assert.ok(![soon.body.id, later.body.id, done.body.id].includes(next.body.id),
        'ids are not reused after a restart');

      const status = (await get(second, '/api/v1/system/status')).body;
      assert.ok(status.jobs.queued >= 1 && status.jobs.succeeded >= 2, JSON.stringify(status));
    });
  });
}
