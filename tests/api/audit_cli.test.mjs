// `guichet audit verify` on the demo database: intact after loading, and "TAMPERED" (exit 3)
// on a copy where someone with direct database access edited an entry behind the triggers.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { backends, projectRoot } from '../support/server.mjs';

const bin = process.env.GUICHET_BIN ?? join(projectRoot, 'build/guichet');
const fastHashing = { GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };

function verify(db) {
  return spawnSync(bin, ['audit', 'verify', '--db', db], { env: { ...process.env, ...fastHashing }, encoding: 'utf8' });
}

function psql(url, sql) {
  return execFileSync('psql', [url, '-qAt', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' });
}

for (const backend of backends()) {
  describe(`audit verify command (${backend})`, () => {
    let dir; let db; let copy; let cleanup = () => {};
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'guichet-audit-'));
      if (backend === 'sqlite') {
        db = 'sqlite:' + join(dir, 'demo.db');
      } else {
        const name = 'audit_' + randomBytes(5).toString('hex');
        psql(process.env.GUICHET_TEST_PG, `CREATE DATABASE ${name}`);
        const url = new URL(process.env.GUICHET_TEST_PG); url.pathname = '/' + name; db = url.toString();
        cleanup = () => psql(process.env.GUICHET_TEST_PG, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }
      execFileSync(bin, ['demo', '--load-only', '--db', db], { env: { ...process.env, ...fastHashing }, stdio: 'pipe' });
    });
    after(() => { cleanup(); rmSync(dir, { recursive: true, force: true }); });

    test('the demo database verifies intact', () => {
      const result = verify(db);
      assert.equal(result.status, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /audit trail intact: \d+ entries checked/);
    });

    test('an entry edited behind the triggers is found, with its sequence number', () => {
      let target = db;
      if (backend === 'sqlite') {
        copy = join(dir, 'tampered.db');
        copyFileSync(db.slice('sqlite:'.length), copy);
        execFileSync('sqlite3', [copy, "DROP TRIGGER audit_entries_redaction_only; UPDATE audit_entries SET action = 'identity.staff.nothing_to_see' WHERE seq = 3;"]);
        target = 'sqlite:' + copy;
      } else {
        psql(db, "ALTER TABLE audit_entries DISABLE TRIGGER USER; UPDATE audit_entries SET action = 'identity.staff.nothing_to_see' WHERE seq = 3;");
      }
      const result = verify(target);
      assert.equal(result.status, 3, result.stdout + result.stderr);
      assert.match(result.stdout, /TAMPERED/);
      assert.match(result.stdout, /entry 3\b/);
    });
  });
}
