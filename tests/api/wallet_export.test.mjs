// `guichet export` (W22): the archive of a demo database on each backend is complete (manifest
// rows and SHA-256 match the files), balances add up (each ledger sums to zero, each holder's
// balance is its last statement line), it documents every file, and it holds no secret.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backends, projectRoot } from '../support/server.mjs';

const bin = process.env.GUICHET_BIN ?? join(projectRoot, 'build/guichet');
const env = { ...process.env, GUICHET_PASSWORD_HASH_MEMORY_KIB: '8192', GUICHET_PASSWORD_HASH_OPS: '1' };

function lines(dir, name) {
  return readFileSync(join(dir, name), 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
}

for (const backend of backends()) {
  describe(`guichet export (${backend})`, () => {
    let dir; let db; let drop = () => {};
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'guichet-export-'));
      if (backend === 'postgres') {
        const name = 'export_' + randomBytes(6).toString('hex');
        execFileSync('psql', [process.env.GUICHET_TEST_PG, '-qAt', '-c', `CREATE DATABASE ${name}`]);
        const url = new URL(process.env.GUICHET_TEST_PG); url.pathname = '/' + name; db = url.toString();
        drop = () => execFileSync('psql', [process.env.GUICHET_TEST_PG, '-qAt', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
      } else {
        db = 'sqlite:' + join(dir, 'guichet.db');
      }
      execFileSync(bin, ['demo', '--load-only', '--db', db], { env, stdio: 'pipe' });
      execFileSync(bin, ['export', '--db', db, '--out', join(dir, 'archive')], { env, stdio: 'pipe' });
    });
    after(() => { try { drop(); } catch { /* cluster gone */ } rmSync(dir, { recursive: true, force: true }); });

    test('the manifest matches the files, and a second export into the same directory is refused', () => {
      const archive = join(dir, 'archive');
      const manifest = JSON.parse(readFileSync(join(archive, 'manifest.json'), 'utf8'));
      assert.equal(manifest.format, 'guichet-export');
      assert.equal(manifest.version, 1);
      for (const file of manifest.files) {
        const content = readFileSync(join(archive, file.name));
        assert.equal(createHash('sha256').update(content).digest('hex'), file.sha256, file.name);
        assert.equal(lines(archive, file.name).length, file.rows, file.name);
      }
      const readme = readFileSync(join(archive, 'README.md'), 'utf8');
      for (const file of manifest.files) assert.match(readme, new RegExp(`## ${file.name.replace('.', '\\.')}`));
      assert.throws(() => execFileSync(bin, ['export', '--db', db, '--out', archive], { env, stdio: 'pipe' }));
    });

    test('balances add up and match the statements; holders, staff and transfers are there; no secrets', () => {
      const archive = join(dir, 'archive');
      const accounts = lines(archive, 'ledger_accounts.jsonl');
      const sums = new Map();
      for (const a of accounts) sums.set(a.ledger, (sums.get(a.ledger) ?? 0) + a.credits_posted - a.debits_posted);
      for (const [ledger, sum] of sums) assert.equal(sum, 0, `ledger ${ledger}`);
      const balances = lines(archive, 'balances.jsonl');
      const movements = lines(archive, 'movements.jsonl');
      for (const b of balances) {
        const last = movements.filter((m) => m.holder_id === b.holder_id && m.counter === b.counter).at(-1);
        assert.equal(b.balance, last ? last.balance_after : 0, `holder ${b.holder_id} ${b.counter}`);
      }
      const camille = lines(archive, 'holders.jsonl').find((h) => h.university_id === 'UGA-20231001');
      assert.ok(camille);
      assert.deepEqual(balances.filter((b) => b.holder_id === camille.id).map((b) => [b.counter, b.balance]), [['EUR', 2670], ['MEAL', 9]]);
      assert.ok(lines(archive, 'staff.jsonl').some((s) => s.email === 'manager@demo.guichet.fr'));
      assert.equal(lines(archive, 'ledger_transfers.jsonl').filter((t) => t.result === 'ok').length, 4);
      const everything = execFileSync('cat', [...JSON.parse(readFileSync(join(archive, 'manifest.json'), 'utf8')).files.map((f) => join(archive, f.name))], { encoding: 'utf8' });
      assert.ok(!/password_hash|\$argon2|totp_secret|token_hash/.test(everything), 'no secret in the archive');
    });
  });
}
