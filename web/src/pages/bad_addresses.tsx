// Addresses and numbers found bad (bounces, rejections, failed SMS, gone push endpoints), for
// staff to correct or clear so that messages are tried again.
import { useState } from 'preact/hooks';
import { LiveMessage, Text } from '../components/form';
import { useI18n } from '../i18n';
import { named } from '../labels';
import { clearBadAddress, listBadAddresses, type BadAddress } from '../notify';
import { problemMessage, type Localised } from '../problems';
import { problemOf } from '../api';
import { useSession } from '../session';
import { useLoad } from '../use_load';

function ClearForm({ bad, onCleared }: { bad: BadAddress; onCleared: (text: string) => void }) {
  const { t } = useI18n();
  const [corrected, setCorrected] = useState('');
  const [problem, setProblem] = useState<Localised | null>(null);
  const id = `bad-${bad.id}-corrected`;
  const submit = async (event: Event) => {
    event.preventDefault();
    setProblem(null);
    try {
      await clearBadAddress(bad.id, corrected.trim());
      onCleared(corrected.trim() ? t('bad.corrected.done', { address: bad.address }) : t('bad.cleared.done', { address: bad.address }));
    } catch (error) {
      setProblem(problemMessage(problemOf(error), t));
    }
  };
  return (
    <form noValidate onSubmit={submit} class="inline-form">
      <label class="field__label" for={id}>
        {t('bad.corrected_to', { address: bad.address })}
      </label>
      <input id={id} class="input" value={corrected} onInput={(event) => setCorrected(event.currentTarget.value)}
        autocomplete="off" spellcheck={false} />
      <button type="submit" class="button button--secondary button--small">
        {t('bad.clear')}
        <span class="visually-hidden"> {bad.address}</span>
      </button>
      {problem && (
        <p class="field__error" role="alert">
          <Text value={problem} />
        </p>
      )}
    </form>
  );
}

export function BadAddressesPage() {
  const { t, lang } = useI18n();
  const { permissions } = useSession();
  const list = useLoad(listBadAddresses, []);
  const [message, setMessage] = useState<Localised | null>(null);
  const items = list.value ?? [];
  const manage = permissions.has('notify.addresses.manage');
  const format = new Intl.DateTimeFormat(lang, { dateStyle: 'short', timeStyle: 'short' });

  return (
    <>
      <h1 tabIndex={-1}>{t('bad.title')}</h1>
      <p class="lead">{t('bad.lead')}</p>
      <LiveMessage message={message} />
      {list.problem && (
        <div class="notice notice--error" role="alert">
          <p>
            <Text value={problemMessage(list.problem, t)} />
          </p>
        </div>
      )}
      <p role="status" class="result-count">
        {list.value ? t('bad.count', { count: items.length }) : t('common.loading')}
      </p>
      {items.length > 0 && (
        <div class="table-wrap">
          <table class="table table--stacked">
            <caption class="visually-hidden">{t('bad.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('bad.address')}</th>
                <th scope="col">{t('bad.channel')}</th>
                <th scope="col">{t('bad.reason')}</th>
                <th scope="col">{t('bad.since')}</th>
                {manage && <th scope="col">{t('bad.action')}</th>}
              </tr>
            </thead>
            <tbody>
              {items.map((bad) => (
                <tr key={bad.id}>
                  <th scope="row">{bad.address}</th>
                  <td data-label={t('bad.channel')}>{named(t, 'bad.channel', bad.channel)}</td>
                  <td data-label={t('bad.reason')}>
                    <span lang="en">{bad.reason}</span>
                  </td>
                  <td data-label={t('bad.since')}>{format.format(new Date(bad.created_at))}</td>
                  {manage && (
                    <td data-label={t('bad.action')}>
                      <ClearForm bad={bad} onCleared={(text) => { setMessage({ text }); list.reload(); }} />
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
