// A real SMTP server for tests and the demo: maildev (npm, web/node_modules), started on free
// ports with SMTP AUTH and STARTTLS (a throwaway self-signed certificate made with openssl),
// and its REST API to read what arrived.
//
// maildev 3 hides STARTTLS and, with authentication on, disables it (it offers TLS only as
// implicit TLS, smtps). Its SMTP engine (nodemailer's smtp-server) implements STARTTLS fully;
// this launcher only turns it back on, before AUTH, in the configuration maildev builds.
//
// `--unknown-mailboxes REGEX` makes it refuse matching recipients at RCPT TO with
// "550 5.1.1 mailbox unavailable", as a real mail server refuses unknown mailboxes.
//
//   node tests/support/maildev.mjs --smtp 0 --web 0 [--user U --pass P] [--tls DIR]
//        [--unknown-mailboxes REGEX]
// prints "maildev: smtp=PORT web=PORT ca=FILE" once listening.
import { execFileSync } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const modules = join(root, 'web/node_modules');

export async function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
    server.on('error', reject);
  });
}

export function makeCertificate(dir) {
  mkdirSync(dir, { recursive: true });
  const key = join(dir, 'key.pem'); const cert = join(dir, 'cert.pem');
  if (!existsSync(cert)) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
      '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { stdio: 'pipe' });
  }
  return { key, cert };
}

async function main() {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const index = args.indexOf(name);
    return index >= 0 ? args[index + 1] : fallback;
  };
  const smtp = Number(option('--smtp', '0')) || await freePort();
  const web = Number(option('--web', '0')) || await freePort();
  const user = option('--user', ''); const pass = option('--pass', '');
  const tlsDir = option('--tls', '');
  const unknown = option('--unknown-mailboxes', '');
  const { SMTPServer } = await import(pathToFileURL(join(modules, '@maildev/smtp/dist/index.js')).href);
  const build = SMTPServer.prototype.buildServerConfig;
  SMTPServer.prototype.buildServerConfig = function buildWithStartTls() {
    const config = build.call(this);
    if (this.options.certPath && !this.options.secure) {
      config.hideSTARTTLS = false;
      config.disabledCommands = (config.disabledCommands ?? []).filter((c) => c !== 'STARTTLS' && c !== 'AUTH');
      if (!this.options.auth) config.disabledCommands.push('AUTH');
      config.allowInsecureAuth = false;  // AUTH only after STARTTLS
    }
    if (unknown) {
      const pattern = new RegExp(unknown, 'i');
      config.onRcptTo = (address, _session, callback) => {
        if (!pattern.test(address.address)) return callback();
        const refusal = new Error('5.1.1 mailbox unavailable');
        refusal.responseCode = 550;
        return callback(refusal);
      };
    }
    return config;
  };
  const argv = ['--smtp', String(smtp), '--web', String(web), '--ip', '127.0.0.1', '--web-ip', '127.0.0.1'];
  let ca = '';
  if (tlsDir) {
    const { key, cert } = makeCertificate(tlsDir);
    argv.push('--incoming-cert', cert, '--incoming-key', key);
    ca = cert;
  }
  if (user) argv.push('--incoming-user', user, '--incoming-pass', pass);
  argv.push('--silent');
  process.argv = [process.argv[0], 'maildev', ...argv];
  await import(pathToFileURL(join(modules, 'maildev/dist/bin/maildev.js')).href);
  // Wait for the web API to answer before telling the caller.
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`http://127.0.0.1:${web}/api/healthz`)).ok) break; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`maildev: smtp=${smtp} web=${web} ca=${ca}`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();

/**
 * Starts maildev as a child process (STARTTLS + AUTH when `user` is given) and returns its
 * ports, the CA file to trust, a reader of received mail and stop().
 */
export async function startMaildev({ user = 'guichet', pass = 'maildev-test-password', tlsDir, unknownMailboxes } = {}) {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = tlsDir ?? mkdtempSync(join(tmpdir(), 'guichet-maildev-'));
  const args = [fileURLToPath(import.meta.url), '--tls', dir];
  if (user) args.push('--user', user, '--pass', pass);
  if (unknownMailboxes) args.push('--unknown-mailboxes', unknownMailboxes);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  const started = await new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error('maildev did not start:\n' + output.join(''))), 20000);
    child.stdout.on('data', (chunk) => {
      output.push(chunk.toString());
      const match = /maildev: smtp=(\d+) web=(\d+) ca=(\S*)/.exec(output.join(''));
      if (match) { clearTimeout(timer); resolveStart({ smtp: Number(match[1]), web: Number(match[2]), ca: match[3] }); }
    });
    child.stderr.on('data', (chunk) => output.push(chunk.toString()));
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`maildev exited ${code}:\n${output.join('')}`)); });
  });
  child.removeAllListeners('exit');
  const api = `http://127.0.0.1:${started.web}/api`;
  return {
    ...started, user, pass, child,
    async emails() { return (await fetch(`${api}/email`)).json(); },
    async source(id) { return (await fetch(`${api}/email/${id}/source`)).text(); },
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
      if (!tlsDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
