// Starts the SMS gateway simulator (server.mjs beside this file) as a child process.
import { spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export async function startSmsSimulator({ apiKey = 'simulator-key', secret, unreachable = [] }) {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'server.mjs');
  const child = spawn(process.execPath, [script, '--port', '0', '--api-key', apiKey, '--secret', secret,
    '--unreachable', unreachable.join(',')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  const url = await new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error('simulator did not start:\n' + output.join(''))), 10000);
    child.stdout.on('data', (chunk) => {
      output.push(chunk.toString());
      const match = /listening on (http:\/\/\S+)/.exec(output.join(''));
      if (match) { clearTimeout(timer); resolveStart(match[1]); }
    });
    child.stderr.on('data', (chunk) => output.push(chunk.toString()));
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`simulator exited ${code}:\n${output.join('')}`)); });
  });
  child.removeAllListeners('exit');
  return {
    url, apiKey, child,
    async messages() { return (await fetch(`${url}/_simulator/messages`)).json(); },
    async mode(body) {
      return (await fetch(`${url}/_simulator/mode`, { method: 'POST', body: JSON.stringify(body),
        headers: { 'Content-Type': 'application/json' } })).json();
    },
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
