// One webhook endpoint: its settings, test event, secret rotation, enabling and disabling, and
// its delivery log with a replay of any past delivery.
import { useState } from 'preact/hooks';
import { LiveMessage, Text } from '../components/form';
import { setFlash } from '../components/flash';
import { useI18n } from '../i18n';
import { named } from '../labels';
import {
  deleteWebhook, getWebhook, listWebhookDeliveries, replayWebhookDelivery, rotateWebhookSecret,
  testWebhook, updateWebhook, type WebhookDelivery, type WebhookEndpoint,
} from '../notify';
import { problemMessage, type Localised } from '../problems';
import { problemOf } from '../api';
import { Link, navigate } from '../router';
import { useSession } from '../session';
import { useLoad } from '../use_load';
import { EndpointState, SecretNotice } from './webhooks';

function formatAt(at: string, lang: string) {
  return new Intl.DateTimeFormat(lang, { dateStyle: 'short', timeStyle: 'medium' }).format(new Date(at));
}

function DeliveryRow({ delivery, canReplay, onReplay }: {
  delivery: WebhookDelivery; canReplay: boolean; onReplay: (delivery: WebhookDelivery) => void;
}) {
  const { t, lang } = useI18n();
  const pending = delivery.state === 'queued' || delivery.state === 'sending';
  return (
    <tr>
      <th scope="row">
        {delivery.event_type}
        {delivery.replay_of !== null && (
          <span class="field__hint"> {t('webhooks.log.replay_of', { id: delivery.replay_of })}</span>
        )}
      </th>
      <td data-label={t('webhooks.log.created')}>{formatAt(delivery.created_at, lang)}</td>
      <td data-label={t('webhooks.log.state')}>{named(t, 'webhooks.state', delivery.state)}</td>
      <td data-label={t('webhooks.log.attempts')}>
        {delivery.attempts.length === 0 ? (
          t('webhooks.log.no_attempt')
        ) : (
          <ol class="plain-list">
            {delivery.attempts.map((attempt, index) => (
              <li key={index}>
                {t('webhooks.log.attempt', {
                  status: attempt.status_code ?? '—',
                  outcome: named(t, 'webhooks.outcome', attempt.outcome),
                  duration: attempt.duration_ms,
                })}
                {attempt.response_excerpt && (
                  <>
                    {' '}
                    <q lang="en">{attempt.response_excerpt}</q>
                  </>
                )}
              </li>
            ))}
          </ol>
        )}
      </td>
      <td data-label={t('webhooks.log.actions')}>
        {canReplay && !pending && (
          <button type="button" class="button button--secondary button--small" onClick={() => onReplay(delivery)}>
            {t('webhooks.replay')}
            <span class="visually-hidden"> {t('webhooks.replay.which', { id: delivery.message_id })}</span>
          </button>
        )}
      </td>
    </tr>
  );
}

export function WebhookDetailPage({ id }: { id: string }) {
  const { t } = useI18n();
  const { permissions } = useSession();
  const number = /^\d+$/.test(id) ? Number(id) : 0;
  const endpoint = useLoad((signal) => getWebhook(number, signal), [number]);
  const deliveries = useLoad((signal) => listWebhookDeliveries(number, signal), [number]);
  const [message, setMessage] = useState<Localised | null>(null);
  const [problem, setProblem] = useState<Localised | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const manage = permissions.has('notify.webhooks.manage');

  const act = async (work: () => Promise<Localised | null>) => {
    setProblem(null);
    setMessage(null);
    try {
      const done = await work();
      setMessage(done);
      deliveries.reload();
    } catch (error) {
      setProblem(problemMessage(problemOf(error), t));
    }
  };

  const current = endpoint.value;
  if (endpoint.problem) {
    return (
      <>
        <h1 tabIndex={-1}>{t('webhooks.detail.title')}</h1>
        <div class="notice notice--error" role="alert">
          <p>
            <Text value={problemMessage(endpoint.problem, t)} />
          </p>
        </div>
        <p>
          <Link href="/messages/webhooks">{t('webhooks.back')}</Link>
        </p>
      </>
    );
  }
  if (!current) {
    return (
      <>
        <h1 tabIndex={-1}>{t('webhooks.detail.title')}</h1>
        <p role="status">{t('common.loading')}</p>
      </>
    );
  }

  const setEnabled = (enabled: boolean) =>
    act(async () => {
      const saved = await updateWebhook(current.id, {
        url: current.url, description: current.description, event_types: current.event_types, enabled,
      });
      endpoint.set(saved);
      return { text: t(enabled ? 'webhooks.enabled.done' : 'webhooks.disabled.done') };
    });
  const rotate = () =>
    act(async () => {
      const rotated: WebhookEndpoint = await rotateWebhookSecret(current.id);
      setSecret(rotated.secret ?? null);
      return { text: t('webhooks.rotate.done') };
    });
  const sendTest = () =>
    act(async () => {
      await testWebhook(current.id);
      return { text: t('webhooks.test.done') };
    });
  const replay = (delivery: WebhookDelivery) =>
    act(async () => {
      await replayWebhookDelivery(delivery.message_id);
      return { text: t('webhooks.replay.done') };
    });
  const remove = async () => {
    if (!confirm(t('webhooks.delete.confirm'))) return;
    try {
      await deleteWebhook(current.id);
      setFlash(t('webhooks.delete.done'), '/messages/webhooks');
      navigate('/messages/webhooks');
    } catch (error) {
      setProblem(problemMessage(problemOf(error), t));
    }
  };

  const log = deliveries.value ?? [];
  return (
    <>
      <p>
        <Link href="/messages/webhooks">{t('webhooks.back')}</Link>
      </p>
      <h1 tabIndex={-1}>{t('webhooks.detail.title')}</h1>
      <dl class="summary-list">
        <dt>{t('webhooks.field.url')}</dt>
        <dd data-testid="webhook-url">{current.url}</dd>
        <dt>{t('webhooks.field.description')}</dt>
        <dd>{current.description || '—'}</dd>
        <dt>{t('webhooks.field.events')}</dt>
        <dd>{current.event_types.join(', ')}</dd>
        <dt>{t('webhooks.field.state')}</dt>
        <dd>
          <EndpointState endpoint={current} />
          {current.disabled_reason && (
            <>
              {' '}
              <span lang="en">{current.disabled_reason}</span>
            </>
          )}
        </dd>
      </dl>
      {secret && <SecretNotice secret={secret} />}
      {manage && (
        <p class="button-row">
          <button type="button" class="button button--secondary" onClick={() => void sendTest()}>
            {t('webhooks.test')}
          </button>
          <button type="button" class="button button--secondary" onClick={() => void rotate()}>
            {t('webhooks.rotate')}
          </button>
          <button type="button" class="button button--secondary" onClick={() => void setEnabled(!current.enabled)}>
            {t(current.enabled ? 'webhooks.disable' : 'webhooks.enable')}
          </button>
          <button type="button" class="button button--secondary" onClick={() => void remove()}>
            {t('webhooks.delete')}
          </button>
        </p>
      )}
      {problem && (
        <div class="notice notice--error" role="alert">
          <p>
            <Text value={problem} />
          </p>
        </div>
      )}
      <LiveMessage message={message} />

      <section aria-labelledby="webhook-log-title">
        <h2 id="webhook-log-title">{t('webhooks.log.title')}</h2>
        <p>
          <button type="button" class="button button--secondary button--small" onClick={() => deliveries.reload()}>
            {t('webhooks.log.refresh')}
          </button>
        </p>
        {log.length === 0 ? (
          <p>{deliveries.value ? t('webhooks.log.empty') : t('common.loading')}</p>
        ) : (
          <div class="table-wrap" aria-busy={deliveries.loading}>
            <table class="table table--stacked" data-testid="webhook-log">
              <caption class="visually-hidden">{t('webhooks.log.title')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('webhooks.log.event')}</th>
                  <th scope="col">{t('webhooks.log.created')}</th>
                  <th scope="col">{t('webhooks.log.state')}</th>
                  <th scope="col">{t('webhooks.log.attempts')}</th>
                  <th scope="col">{t('webhooks.log.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {log.map((delivery) => (
                  <DeliveryRow key={delivery.message_id} delivery={delivery} canReplay={manage && current.enabled}
                    onReplay={(chosen) => void replay(chosen)} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
