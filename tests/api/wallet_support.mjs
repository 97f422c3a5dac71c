// Helpers of the wallet API tests: reading the outbox (activation tokens) from the server's own
// database, and a holder client that keeps the guichet_holder cookie and its CSRF token.
import { execFileSync } from 'node:child_process';
import { request } from './lib.mjs';

/** Runs one SQL query on the server's database and returns the rows as arrays of strings. */
export function sql(server, query) {
  const out = server.backend === 'postgres'
    ? execFileSync('psql', [server.db, '-qAt', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', query], { encoding: 'utf8' })
    : execFileSync('sqlite3', ['-separator', '\t', server.db.replace(/^sqlite:/, ''), query], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.length > 0).map((line) => line.split('\t'));
}

/** The activation tokens queued for an address, oldest first. */
export function activationTokens(server, email) {
  return sql(server, `SELECT variables FROM outbox_messages WHERE template_code = 'wallet.activation'
    AND recipient = '${email.replace(/'/g, "''")}' ORDER BY id`).map((row) => JSON.parse(row[0]).token);
}

export class HolderClient {
  constructor(server) { this.server = server; this.cookie = ''; this.csrf = ''; }

  async call(method, path, json, { csrf = true } = {}) {
    const headers = {};
    if (this.cookie) headers.cookie = this.cookie;
    if (csrf && this.csrf && method !== 'GET') headers['x-csrf-token'] = this.csrf;
    const r = await request(this.server, method, path, { json, headers });
    const setCookie = r.headers.get('set-cookie');
    if (setCookie) {
      const match = /guichet_holder=([^;]*)/.exec(setCookie);
      this.cookie = match && match[1] ? `guichet_holder=${match[1]}` : '';
    }
    if (r.body && typeof r.body.csrf_token === 'string') this.csrf = r.body.csrf_token;
    return r;
  }
}

let counter = 0;
/** A new holder's body, unique within a test run. */
export function newHolder(organisationId, overrides = {}) {
  counter += 1;
  const tag = `${process.pid}${counter}${Math.floor(Math.random() * 1e6)}`;
  return {
    organisation_id: organisationId,
    university_id: `U-${tag}`,
    ine: `INE${tag}`.slice(0, 11),
    tariff_profile: 'etudiant',
    last_name: 'Lefebvre',
    first_name: 'Jeanne',
    email: `jeanne.${tag}@etu.example.org`,
    birth_date: '2004-05-17',
    phone: '+33612345678',
    language: 'fr',
    end_of_validity: '2027-08-31',
    supports: [{ number: `CARD-${tag}`, technology: 'desfire', form: 'physical' }],
    ...overrides,
  };
}
