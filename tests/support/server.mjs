// Starts the real `guichet` binary for API and browser tests, on a random port, against a
// fresh SQLite file or a fresh PostgreSQL database, and stops it afterwards.
//
//   const server = await startServer({ backend: 'sqlite' });   // or 'postgres'
//   const res = await fetch(server.url + '/healthz');
//   await server.stop();
//
// Environment:
//   GUICHET_BIN      path of the binary (default: build/guichet)
//   GUICHET_TEST_PG  libpq URL of the throwaway test cluster (postgres backend only)
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const startTimeoutMs = 20000;

export function backends() {
  // Both backends always run under `make test`; outside it, PostgreSQL runs only when
  // GUICHET_TEST_PG is set.
  return process.env.GUICHET_TEST_PG ? ['sqlite', 'postgres'] : ['sqlite'];
}

function createPostgresDatabase() {
  const base = process.env.GUICHET_TEST_PG;
  if (!base) throw new Error('GUICHET_TEST_PG is not set: cannot run against PostgreSQL');
  const name = 'api_' + randomBytes(6).toString('hex');
  execFileSync('psql', [base, '-qAt', '-c', `CREATE DATABASE ${name}`], { stdio: 'pipe' });
  const url = new URL(base);
  url.pathname = '/' + name;
  return { url: url.toString(), drop: () => {
    execFileSync('psql', [base, '-qAt', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`],
      { stdio: 'pipe' });
  } };
}

/**
 * @param {{backend?: 'sqlite'|'postgres', env?: Record<string,string>, args?: string[],
 *          demo?: boolean}} options
 */
export async function startServer(options = {}) {
  const backend = options.backend ?? 'sqlite';
  const bin = process.env.GUICHET_BIN ?? join(projectRoot, 'build/guichet');
  if (!existsSync(bin)) throw new Error(`guichet binary not found at ${bin}: build first`);
  const dir = mkdtempSync(join(tmpdir(), 'guichet-test-'));
  let db; let dropDatabase = () => {};
  if (backend === 'postgres') {
    const created = createPostgresDatabase();
    db = created.url; dropDatabase = created.drop;
  } else {
    db = 'sqlite:' + join(dir, 'guichet.db');
  }
  const env = {
    ...process.env,
    GUICHET_DB: db,
    GUICHET_HTTP_HOST: '127.0.0.1',
    GUICHET_HTTP_PORT: '0',
    GUICHET_WEB_ROOT: join(projectRoot, 'web/dist'),
    GUICHET_LOG_FORMAT: 'json',
    GUICHET_DIAGNOSTICS: 'true',
    ...(options.env ?? {}),
  };
  if (options.demo) {
    // The demo points' pairing codes go to this server's own directory, never to a running
    // `make demo`'s var/demo-pos.txt.
    execFileSync(bin, ['demo', '--load-only', '--pos-codes', join(dir, 'demo-pos.txt')], { env, stdio: 'pipe' });
  }
  const child = spawn(bin, ['serve', ...(options.args ?? [])], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs = [];
  const port = await new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error('guichet did not start in time:\n' + logs.join(''))),
      startTimeoutMs);
    const onData = (chunk) => {
      const text = chunk.toString();
      logs.push(text);
      // The server prints exactly one line "guichet: listening on http://HOST:PORT" when ready.
      const match = /guichet: listening on http:\/\/[^:]+:(\d+)/.exec(logs.join(''));
      if (match) { clearTimeout(timer); resolvePort(Number(match[1])); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => logs.push(chunk.toString()));
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`guichet exited with ${code}:\n` + logs.join(''))); });
  });
  child.removeAllListeners('exit');
  const exited = new Promise((resolveExit) => child.on('exit', (code, signal) => resolveExit({ code, signal })));
  return {
    backend, db, port, url: `http://127.0.0.1:${port}`, process: child, logs, exited,
    /** Sends SIGTERM and waits for the process to leave; returns its exit status. */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15000);
      const status = await exited;
      clearTimeout(killer);
      try { dropDatabase(); } catch { /* the cluster may already be gone */ }
      rmSync(dir, { recursive: true, force: true });
      return status;
    },
  };
}
