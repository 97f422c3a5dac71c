// Loads a self-contained TypeScript module of web/src in a node:test (Node 20 cannot strip types
// itself): the types are stripped with the bundler's own transformer (rolldown, installed in
// web/node_modules), the result written next to the system's temporary files and imported.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const webRoot = resolve(import.meta.dirname, '../../web');

export async function importTypeScript(relativePath) {
  const require = createRequire(join(webRoot, 'package.json'));
  const { transformSync } = await import(pathToFileURL(require.resolve('rolldown/experimental')).href);
  const file = join(webRoot, relativePath);
  const result = transformSync(file, readFileSync(file, 'utf8'), { lang: 'ts' });
  if (result.errors?.length) throw new Error(`${file}: ${result.errors.map((e) => e.message).join('; ')}`);
  const out = join(mkdtempSync(join(tmpdir(), 'guichet-ts-')), 'module.mjs');
  writeFileSync(out, result.code);
  return import(pathToFileURL(out).href);
}
