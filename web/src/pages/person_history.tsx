// Every message of one person (staff, wallet holder…): channel, address, template, state,
// attempts, and what waits in a digest.
import { Text } from '../components/form';
import { useI18n } from '../i18n';
import { named } from '../labels';
import { getPersonHistory } from '../notify_content';
import { problemMessage } from '../problems';
import { Link } from '../router';
import { useLoad } from '../use_load';

export function PersonHistoryPage({ type, id }: { type: string; id: string }) {
  const { t, lang } = useI18n();
  const number = /^\d+$/.test(id) ? Number(id) : 0;
  const history = useLoad((signal) => getPersonHistory(type, number, signal), [type, number]);
  const format = new Intl.DateTimeFormat(lang, { dateStyle: 'short', timeStyle: 'short' });
  const items = history.value?.items ?? [];
  const waiting = history.value?.digest_items.filter((item) => item.state === 'waiting') ?? [];
  return (
    <>
      <p>
        <Link href="/messages">{t('history.back')}</Link>
      </p>
      <h1 tabIndex={-1}>{t('history.title')}</h1>
      <p class="lead">{t('history.person', { type: named(t, 'campaigns.person_type', type), id })}</p>
      {history.problem && (
        <div class="notice notice--error" role="alert">
          <p>
            <Text value={problemMessage(history.problem, t)} />
          </p>
        </div>
      )}
      <p role="status" class="result-count">
        {history.value ? t('history.count', { count: items.length }) : t('common.loading')}
      </p>
      {items.length > 0 && (
        <div class="table-wrap">
          <table class="table table--stacked" data-testid="history">
            <caption class="visually-hidden">{t('history.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('history.when')}</th>
                <th scope="col">{t('history.message')}</th>
                <th scope="col">{t('bad.channel')}</th>
                <th scope="col">{t('bad.address')}</th>
                <th scope="col">{t('webhooks.log.state')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr key={item.id}>
                  <th scope="row">{format.format(new Date(item.created_at))}</th>
                  <td data-label={t('history.message')}>{item.template_code}</td>
                  <td data-label={t('bad.channel')}>{named(t, 'bad.channel', item.channel)}</td>
                  <td data-label={t('bad.address')}>{item.recipient}</td>
                  <td data-label={t('webhooks.log.state')}>
                    {named(t, 'history.state', item.state)}
                    {item.opened_at && <> — {t('history.opened')}</>}
                    {item.last_error && (
                      <>
                        {' '}
                        <span lang="en">({item.last_error})</span>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {waiting.length > 0 && <p>{t('history.digest_waiting', { count: waiting.length })}</p>}
    </>
  );
}
