// Webhook endpoints of one's organisations: the list, and registering a new one, whose signing
// secret is shown once.
import { useState } from 'preact/hooks';
import {
  ChoiceFieldset, ErrorSummary, SelectField, SubmitButton, Text, TextField, errorFor, useSubmission,
} from '../components/form';
import { useI18n } from '../i18n';
import { getOrganisations } from '../identity';
import { baseDepth, organisationOption } from '../labels';
import {
  createWebhook, listWebhookEventTypes, listWebhooks, type WebhookEndpoint,
} from '../notify';
import { formErrors, problemMessage } from '../problems';
import { problemOf } from '../api';
import { Link } from '../router';
import { useSession } from '../session';
import { useLoad } from '../use_load';

export function EndpointState({ endpoint }: { endpoint: WebhookEndpoint }) {
  const { t } = useI18n();
  return (
    <span class={`badge badge--${endpoint.enabled ? 'active' : 'suspended'}`}>
      {t(endpoint.enabled ? 'webhooks.enabled' : 'webhooks.disabled')}
    </span>
  );
}

/** The secret, shown once: after creation and after a rotation. */
export function SecretNotice({ secret }: { secret: string }) {
  const { t } = useI18n();
  return (
    <div class="notice notice--info" role="status">
      <h2 class="notice__title">{t('webhooks.secret.title')}</h2>
      <p>{t('webhooks.secret.once')}</p>
      <p>
        <code data-testid="webhook-secret">{secret}</code>
      </p>
    </div>
  );
}

function NewEndpointForm({ onCreated }: { onCreated: (endpoint: WebhookEndpoint) => void }) {
  const { t } = useI18n();
  const organisations = useLoad(getOrganisations, []);
  const types = useLoad(listWebhookEventTypes, []);
  const [organisation, setOrganisation] = useState('');
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [selected, setSelected] = useState<string[]>([]);
  const submission = useSubmission();
  const list = organisations.value ?? [];
  const depth = baseDepth(list);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (submission.busy) return;
    const local = [];
    if (!organisation) local.push({ field: 'webhook-organisation', text: t('webhooks.organisation.missing') });
    if (!url.trim()) local.push({ field: 'webhook-url', text: t('webhooks.url.missing') });
    if (selected.length === 0) local.push({ field: 'webhook-events', text: t('webhooks.events.missing') });
    if (local.length > 0) {
      submission.fail(local);
      return;
    }
    submission.setBusy(true);
    try {
      const created = await createWebhook(Number(organisation), {
        url: url.trim(),
        description: description.trim(),
        event_types: selected,
        enabled: true,
      });
      submission.clear();
      setUrl('');
      setDescription('');
      setSelected([]);
      onCreated(created);
    } catch (error) {
      submission.fail(
        formErrors(problemOf(error), t, { '/url': 'webhook-url', '/event_types': 'webhook-events',
          '/event_types/0': 'webhook-events', '/description': 'webhook-description' }),
      );
    } finally {
      submission.setBusy(false);
    }
  };

  return (
    <form noValidate onSubmit={submit} aria-labelledby="webhook-new-title">
      <h2 id="webhook-new-title">{t('webhooks.new')}</h2>
      <ErrorSummary errors={submission.errors} attempt={submission.attempt} />
      <SelectField
        id="webhook-organisation"
        label={t('webhooks.field.organisation')}
        value={organisation}
        onChange={setOrganisation}
        placeholder={t('webhooks.organisation.choose')}
        options={list.map((item) => organisationOption(t, item, depth))}
        error={errorFor(submission.errors, 'webhook-organisation')}
      />
      <TextField
        id="webhook-url"
        label={t('webhooks.field.url')}
        hint={t('webhooks.url.hint')}
        value={url}
        onInput={setUrl}
        spellcheck={false}
        autocomplete="off"
        error={errorFor(submission.errors, 'webhook-url')}
      />
      <TextField
        id="webhook-description"
        label={t('webhooks.field.description')}
        value={description}
        onInput={setDescription}
        required={false}
        error={errorFor(submission.errors, 'webhook-description')}
      />
      <ChoiceFieldset
        id="webhook-events"
        legend={t('webhooks.field.events')}
        type="checkbox"
        options={(types.value ?? []).map((type) => ({ value: type.name, label: type.name, hint: type.description }))}
        selected={selected}
        onChange={setSelected}
        error={errorFor(submission.errors, 'webhook-events')}
      />
      <SubmitButton busy={submission.busy}>{t('webhooks.create')}</SubmitButton>
    </form>
  );
}

export function WebhooksPage() {
  const { t } = useI18n();
  const { permissions } = useSession();
  const endpoints = useLoad(listWebhooks, []);
  const [created, setCreated] = useState<WebhookEndpoint | null>(null);
  const items = endpoints.value ?? [];

  return (
    <>
      <h1 tabIndex={-1}>{t('webhooks.title')}</h1>
      <p class="lead">{t('webhooks.lead')}</p>
      {created?.secret && (
        <>
          <SecretNotice secret={created.secret} />
          <p>
            <Link href={`/messages/webhooks/${created.id}`}>{t('webhooks.open', { url: created.url })}</Link>
          </p>
        </>
      )}
      {endpoints.problem && (
        <div class="notice notice--error" role="alert">
          <p>
            <Text value={problemMessage(endpoints.problem, t)} />
          </p>
        </div>
      )}
      <p role="status" class="result-count">
        {endpoints.value ? t('webhooks.count', { count: items.length }) : t('common.loading')}
      </p>
      {items.length > 0 && (
        <div class="table-wrap">
          <table class="table table--stacked">
            <caption class="visually-hidden">{t('webhooks.table.caption')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('webhooks.field.url')}</th>
                <th scope="col">{t('webhooks.field.description')}</th>
                <th scope="col">{t('webhooks.field.events')}</th>
                <th scope="col">{t('webhooks.field.state')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((endpoint) => (
                <tr key={endpoint.id}>
                  <th scope="row">
                    <Link href={`/messages/webhooks/${endpoint.id}`}>{endpoint.url}</Link>
                  </th>
                  <td data-label={t('webhooks.field.description')}>{endpoint.description}</td>
                  <td data-label={t('webhooks.field.events')}>{endpoint.event_types.join(', ')}</td>
                  <td data-label={t('webhooks.field.state')}>
                    <EndpointState endpoint={endpoint} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {permissions.has('notify.webhooks.manage') && (
        <NewEndpointForm
          onCreated={(endpoint) => {
            setCreated(endpoint);
            endpoints.reload();
          }}
        />
      )}
    </>
  );
}
