// Message content over HTTP (issue 4): templates per organisation and language with preview and
// precise refusals, preferences (own and on behalf), a campaign to one person delivered by the
// real binary to a real SMTP server (maildev) with its List-Unsubscribe link, the link working
// without login (GET describes, POST one-click per RFC 8058), forged tokens refused, statistics,
// the person's history, people without consent — and 401/403/404 where they belong.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, startServer } from '../support/server.mjs';
import { freePort, startMaildev } from '../support/maildev.mjs';
import { expectProblem, expectValidation, pollUntil, request } from './lib.mjs';
import { Client } from './identity_client.mjs';

const linkSecret = 'link-secret-for-tests-0123456789';
const wording = 'J\'accepte de recevoir les informations du syndicat par e-mail.';

function header(source, name) {
  const head = source.slice(0, source.indexOf('\r\n\r\n')).replace(/\r\n[ \t]/g, ' ');
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

for (const backend of backends()) {
  describe(`message content (${backend})`, () => {
    let maildev; let server; let admin; let agent; let syndicateId; let cityId; let agentId; let port;

    before(async () => {
      maildev = await startMaildev();
      port = await freePort();
      server = await startServer({
        backend,
        demo: true,
        env: {
          GUICHET_HTTP_PORT: String(port),
          GUICHET_SMTP_URL: `smtp://127.0.0.1:${maildev.smtp}`,
          GUICHET_SMTP_USER: maildev.user,
          GUICHET_SMTP_PASSWORD: maildev.pass,
          GUICHET_SMTP_STARTTLS: 'required',
          GUICHET_SMTP_CA_FILE: maildev.ca,
          GUICHET_PUBLIC_URL: `http://127.0.0.1:${port}`,
          GUICHET_NOTIFY_LINK_SECRET: linkSecret,
          GUICHET_NOTIFY_POLL_MS: '1000',
          GUICHET_JOBS_POLL_MS: '50',
        },
      });
      admin = new Client(server);
      assert.equal((await admin.login('syndicate.admin@demo.guichet.fr')).status, 200);
      agent = new Client(server);
      assert.equal((await agent.login('city.agent@demo.guichet.fr')).status, 200);
      const orgs = await admin.call('GET', '/api/v1/organisations');
      cityId = orgs.body.organisations.find((o) => o.name === 'Ville de Vénissieux').id;
      syndicateId = orgs.body.organisations.find((o) => o.name.startsWith('SITIV — ')).id;
      const staff = await admin.call('GET', '/api/v1/staff');
      agentId = staff.body.staff.find((p) => p.email === 'city.agent@demo.guichet.fr').id;
    });
    after(async () => {
      await server?.stop();
      await maildev?.stop();
    });

    test('refusals: anonymous 401, missing right 403, another organisation 404', async () => {
      const anonymous = new Client(server);
      expectProblem(await anonymous.call('GET', '/api/v1/notify/campaigns'), 401, 'unauthenticated');
      expectProblem(await anonymous.call('GET', '/api/v1/me/notify/preferences'), 401, 'unauthenticated');
      expectProblem(await agent.call('GET', '/api/v1/notify/template-codes'), 403, 'forbidden');
      expectProblem(await agent.call('GET', `/api/v1/organisations/${cityId}/notify/templates`), 403, 'forbidden');
      const pass = new Client(server);
      assert.equal((await pass.login('pass.admin@demo.guichet.fr')).status, 200);
      expectProblem(await pass.call('GET', `/api/v1/organisations/${cityId}/notify/templates`), 404, 'organisation_not_found');
      expectProblem(await pass.call('GET', `/api/v1/notify/people/staff/${agentId}/messages`), 404, 'notify_person_unknown');
    });

    test('templates: built-in, saved for the syndicate, inherited by the city, refused with the variable named', async () => {
      const codes = await admin.call('GET', '/api/v1/notify/template-codes');
      assert.equal(codes.status, 200, codes.text);
      const movement = codes.body.items.find((c) => c.code === 'wallet.movement');
      assert.ok(movement.variables.some((v) => v.name === 'amount_cents' && v.kind === 'money'));
      const builtin = await admin.call('GET', `/api/v1/organisations/${cityId}/notify/templates/wallet.movement/en`);
      assert.equal(builtin.status, 200, builtin.text);
      assert.equal(builtin.body.source, 'builtin');
      const saved = await admin.call('PUT', `/api/v1/organisations/${syndicateId}/notify/templates/wallet.movement/fr`, {
        subject: 'SITIV : {{ amount_cents | money }}', text: '{{ label }} le {{ at | date }}', html: '<b>{{ label }}</b>',
      });
      assert.equal(saved.status, 200, saved.text);
      assert.equal(saved.body.source, 'own');
      const inherited = await admin.call('GET', `/api/v1/organisations/${cityId}/notify/templates/wallet.movement/fr`);
      assert.equal(inherited.body.source, 'inherited');
      assert.equal(inherited.body.organisation_id, syndicateId);
      const refused = await admin.call('PUT', `/api/v1/organisations/${cityId}/notify/templates/wallet.movement/fr`,
        { subject: 'x', text: 'Bonjour {{ prenom }}', html: '' });
      expectProblem(refused, 422, 'template_variable_unknown');
      assert.match(refused.body.detail, /prenom/);
      expectProblem(await admin.call('PUT', `/api/v1/organisations/${cityId}/notify/templates/wallet.movement/fr`,
        { subject: 'x', text: 'Bonjour {{ label', html: '' }), 422, 'template_syntax');
      expectValidation(await admin.call('PUT', `/api/v1/organisations/${cityId}/notify/templates/wallet.movement/fr`, {}),
        ['/subject', '/text']);
      expectProblem(await admin.call('GET', `/api/v1/organisations/${cityId}/notify/templates/nope.code/fr`), 404, 'template_code_unknown');
      const preview = await admin.call('POST', `/api/v1/organisations/${cityId}/notify/templates/preview`, {
        code: 'wallet.movement', language: 'fr', variables: { label: '<Cantine>', amount_cents: -1250 },
      });
      assert.equal(preview.status, 200, preview.text);
      assert.equal(preview.body.subject, 'SITIV : -12,50\u00a0€');
      assert.equal(preview.body.html, '<b>&lt;Cantine&gt;</b>');
      const english = await admin.call('POST', `/api/v1/organisations/${cityId}/notify/templates/preview`,
        { code: 'wallet.movement', language: 'en', variables: { amount_cents: 1250 } });
      assert.match(english.body.subject, /€12\.50/);
      assert.equal((await admin.call('DELETE', `/api/v1/organisations/${syndicateId}/notify/templates/wallet.movement/fr`)).status, 204);
      expectProblem(await admin.call('DELETE', `/api/v1/organisations/${syndicateId}/notify/templates/wallet.movement/fr`), 404, 'template_not_found');
    });

    test('preferences: one\'s own, and on behalf with the right', async () => {
      const mine = await agent.call('GET', '/api/v1/me/notify/preferences');
      assert.equal(mine.status, 200, mine.text);
      assert.equal(mine.body.alert_frequency, 'weekly');
      assert.ok(mine.body.channels.some((c) => c.purpose === 'alerts' && c.channel === 'email' && c.mandatory && c.granted));
      const changed = await agent.call('PUT', '/api/v1/me/notify/preferences', { alert_frequency: 'daily', low_balance_threshold_cents: 500 });
      assert.equal(changed.status, 200, changed.text);
      assert.equal(changed.body.low_balance_threshold_cents, 500);
      expectValidation(await agent.call('PUT', '/api/v1/me/notify/preferences', { alert_frequency: 'hourly' }), ['/alert_frequency']);
      expectValidation(await agent.call('PUT', '/api/v1/me/notify/preferences', { colour: 'blue' }), ['/colour']);
      const cleared = await admin.call('PUT', `/api/v1/notify/people/staff/${agentId}/preferences`, { low_balance_threshold_cents: null });
      assert.equal(cleared.status, 200, cleared.text);
      assert.equal(cleared.body.low_balance_threshold_cents, null);
      assert.equal(cleared.body.alert_frequency, 'daily');
    });

    test('a campaign to one person: delivered over SMTP with a one-click unsubscribe that works without login', async () => {
      const before = await admin.call('GET', `/api/v1/notify/people-without-consent?organisation_id=${cityId}&purpose=campaign&channel=email`);
      assert.equal(before.status, 200, before.text);
      assert.ok(before.body.items.some((p) => p.id === agentId));
      const given = await agent.call('POST', '/api/v1/me/consents', { purpose: 'campaign', channel: 'email', granted: true, wording, wording_version: 'v1' });
      assert.equal(given.status, 201, given.text);
      const created = await admin.call('POST', '/api/v1/notify/campaigns', {
        organisation_id: cityId, name: 'Fermeture', template_code: 'notify.campaign',
        audience: { person: { type: 'staff', id: agentId } },
        variables: { title: 'Fermeture exceptionnelle', body: 'Le guichet sera fermé le 24 décembre.' },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.state, 'draft');
      expectValidation(await admin.call('POST', '/api/v1/notify/campaigns', { organisation_id: cityId }), ['/name', '/template_code', '/audience']);
      expectProblem(await admin.call('POST', '/api/v1/notify/campaigns', {
        organisation_id: cityId, name: 'x', template_code: 'notify.campaign', audience: { person_type: 'staff', criteria: { shoe: 1 } },
      }), 422, 'audience_criteria_invalid');
      const scheduled = await admin.call('POST', `/api/v1/notify/campaigns/${created.body.id}/schedule`, {});
      assert.equal(scheduled.status, 200, scheduled.text);
      const mail = await pollUntil(async () => (await maildev.emails()).find((e) => e.subject === 'Fermeture exceptionnelle'),
        { timeoutMs: 20000, what: 'the campaign e-mail' });
      assert.equal(mail.to[0].address, 'city.agent@demo.guichet.fr');
      const source = await maildev.source(mail.id);
      const unsubscribe = header(source, 'List-Unsubscribe');
      assert.ok(unsubscribe, 'List-Unsubscribe present');
      assert.equal(header(source, 'List-Unsubscribe-Post'), 'List-Unsubscribe=One-Click');
      const url = new URL(/<(http[^>]+)>/.exec(unsubscribe)[1]);
      const path = url.pathname + url.search;
      const described = await request(server, 'GET', path);
      assert.equal(described.status, 200, described.text);
      assert.equal(described.body.purpose, 'campaign');
      assert.equal(described.body.granted, true);
      const forged = path.replace(/~campaign~/, '~alerts~');
      expectProblem(await request(server, 'GET', forged), 400, 'unsubscribe_token_invalid');
      expectProblem(await request(server, 'POST', forged, { body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 400, 'unsubscribe_token_invalid');
      const clicked = await request(server, 'POST', path, { body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(clicked.status, 200, clicked.text);
      assert.equal(clicked.body.granted, false);
      const consents = await agent.call('GET', '/api/v1/me/consents');
      assert.deepEqual(consents.body.current.filter((c) => c.purpose === 'campaign').map((c) => c.granted), [false]);

      const stats = await pollUntil(async () => {
        const r = await admin.call('GET', `/api/v1/notify/campaigns/${created.body.id}/stats`);
        return r.body.sent === 1 ? r : null;
      }, { what: 'campaign stats' });
      assert.equal(stats.body.audience, 1);
      assert.equal(stats.body.queued, stats.body.waiting + stats.body.sent + stats.body.failed + stats.body.suppressed + stats.body.uncertain);
      expectProblem(await admin.call('POST', `/api/v1/notify/campaigns/${created.body.id}/cancel`), 409, 'campaign_already_sent');
      const history = await admin.call('GET', `/api/v1/notify/people/staff/${agentId}/messages`);
      assert.equal(history.status, 200, history.text);
      const row = history.body.items.find((m) => m.campaign_id === created.body.id);
      assert.equal(row.state, 'sent');
      assert.ok(row.log.some((entry) => entry.outcome === 'sent'));
      const list = await admin.call('GET', `/api/v1/notify/campaigns?organisation_id=${syndicateId}`);
      assert.ok(list.body.items.some((c) => c.id === created.body.id && c.state === 'sent'));
    });

    test('rules: created, listed, stopped; audiences listed', async () => {
      const audiences = await admin.call('GET', '/api/v1/notify/audiences');
      assert.equal(audiences.status, 200, audiences.text);
      assert.ok(audiences.body.items.some((a) => a.person_type === 'staff' && a.criteria.some((c) => c.name === 'profile')));
      const rule = await admin.call('POST', '/api/v1/notify/rules', {
        organisation_id: cityId, event: 'pass.stay_ended', delay_days: 2, template_code: 'notify.campaign',
        variables: { title: 'Votre avis', body: 'Comment était votre séjour ?' },
      });
      assert.equal(rule.status, 201, rule.text);
      expectValidation(await admin.call('POST', '/api/v1/notify/rules', { organisation_id: cityId, event: 'x', delay_days: -1, template_code: 'notify.campaign' }), ['/delay_days']);
      const listed = await admin.call('GET', '/api/v1/notify/rules');
      assert.ok(listed.body.items.some((r) => r.id === rule.body.id && r.active));
      assert.equal((await admin.call('DELETE', `/api/v1/notify/rules/${rule.body.id}`)).status, 204);
      expectProblem(await agent.call('GET', '/api/v1/notify/rules'), 403, 'forbidden');
    });
  });
}
