// `guichet bootstrap`: the operator's way to create the first administrator of a new tree.
// The account gets a random initial password printed once and must change it before acting.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { backends, projectRoot, startServer } from '../support/server.mjs';
import { expectProblem } from './lib.mjs';
import { Client } from './identity_client.mjs';

const bin = process.env.GUICHET_BIN ?? join(projectRoot, 'build/guichet');
const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };

function bootstrap(db, args) {
  return spawnSync(bin, ['bootstrap', '--db', db, ...args],
    { env: { ...process.env, ...fastHashing }, encoding: 'utf8' });
}

for (const backend of backends()) {
  describe(`bootstrap command (${backend})`, () => {
    let dir; let db; let cleanup = () => {};
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'guichet-bootstrap-'));
      if (backend === 'sqlite') {
        db = 'sqlite:' + join(dir, 'prod.db');
      } else {
        const name = 'bootstrap_' + randomBytes(5).toString('hex');
        execFileSync('psql', [process.env.GUICHET_TEST_PG, '-qAt', '-c', `CREATE DATABASE ${name}`]);
        const url = new URL(process.env.GUICHET_TEST_PG); url.pathname = '/' + name; db = url.toString();
        cleanup = () => execFileSync('psql', [process.env.GUICHET_TEST_PG, '-qAt', '-c',
          `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
      }
    });
    after(() => { cleanup(); rmSync(dir, { recursive: true, force: true }); });

    test('refuses an unknown profile or one that does not fit the organisation', () => {
      const unknown = bootstrap(db, ['--organisation-kind', 'syndicate', '--organisation-name', 'SITIV',
        '--email', 'x@sitiv.fr', '--name', 'X', '--profile', 'nope']);
      assert.notEqual(unknown.status, 0);
      assert.match(unknown.stderr, /unknown profile nope/);
      const misfit = bootstrap(db, ['--organisation-kind', 'syndicate', '--organisation-name', 'SITIV',
        '--email', 'x@sitiv.fr', '--name', 'X', '--profile', 'wallet.national_admin']);
      assert.notEqual(misfit.status, 0);
      assert.match(misfit.stderr, /cannot be held in a syndicate/);
    });

    test('creates the administrator, who must change the printed password before acting', async () => {
      const result = bootstrap(db, ['--organisation-kind', 'syndicate', '--organisation-name', 'SITIV',
        '--email', 'admin@sitiv.fr', '--name', 'Admin SITIV', '--profile', 'family.syndicate_admin']);
      assert.equal(result.status, 0, result.stdout + result.stderr);
      const password = /initial password[^:]*: (\S+)/.exec(result.stdout)[1];
      const server = await startServer({ backend, env: { GUICHET_DB: db, ...fastHashing } });
      try {
        const client = new Client(server);
        const login = await client.login('admin@sitiv.fr', password);
        assert.equal(login.status, 200, login.text);
        assert.equal(login.body.user.must_change_password, true);
        expectProblem(await client.call('GET', '/api/v1/staff'), 403, 'password_change_required');
        assert.equal((await client.call('PUT', '/api/v1/me/password',
          { current_password: password, new_password: 'Genêt-Causse-Lavande-62' })).status, 204);
        const orgs = await client.call('GET', '/api/v1/organisations');
        assert.equal(orgs.status, 200, orgs.text);
        assert.deepEqual(orgs.body.organisations.map((o) => o.name), ['SITIV']);
      } finally {
        await server.stop();
      }
      const again = bootstrap(db, ['--organisation-kind', 'syndicate', '--organisation-name', 'SITIV',
        '--email', 'admin@sitiv.fr', '--name', 'Admin SITIV', '--profile', 'family.syndicate_admin']);
      assert.notEqual(again.status, 0, 'the same e-mail twice is refused');
    });
  });
}
