// /readyz turns 503 database_unavailable when the database goes away, while /healthz (the
// process is alive) stays 200. Only PostgreSQL can be taken away from under a running server:
// an open SQLite file stays readable through its descriptor even once deleted.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, backends } from '../support/server.mjs';
import { get, expectProblem, pollUntil } from './lib.mjs';

for (const backend of backends()) {
  const skip = backend === 'postgres' ? false
    : 'cannot make an open SQLite database unreachable from outside the process';
  describe(`readiness when the database goes away (${backend})`, { skip }, () => {
    let server;
    before(async () => { server = await startServer({ backend }); });
    after(async () => { await server?.stop(); });

    test('/readyz answers 503 database_unavailable, /healthz stays 200', async () => {
      assert.equal((await get(server, '/readyz')).status, 200);
      const name = new URL(server.db).pathname.slice(1);
      execFileSync('psql', [process.env.GUICHET_TEST_PG, '-qAt', '-c', `DROP DATABASE ${name} WITH (FORCE)`],
        { stdio: 'pipe' });
      const r = await pollUntil(async () => {
        const answer = await get(server, '/readyz');
        return answer.status === 503 ? answer : undefined;
      }, { timeoutMs: 15000, what: '/readyz to report the database gone' });
      expectProblem(r, 503, 'database_unavailable', { instance: '/readyz' });
      const health = await get(server, '/healthz');
      assert.equal(health.status, 200);
      assert.deepEqual(health.body, { status: 'ok' });
      assert.equal(server.process.exitCode, null, 'losing the database does not kill the process');
    });
  });
}
