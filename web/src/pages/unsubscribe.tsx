// The unsubscribe page reached from a link in a message, without logging in: says what will
// stop, and stops it on confirmation.
import { useState } from 'preact/hooks';
import { Text } from '../components/form';
import { useI18n } from '../i18n';
import { named } from '../labels';
import { confirmUnsubscribe, describeUnsubscribe } from '../notify_content';
import { problemMessage, type Localised } from '../problems';
import { problemOf } from '../api';
import { useLocation } from '../router';
import { useLoad } from '../use_load';

export function UnsubscribePage() {
  const { t } = useI18n();
  const { query } = useLocation();
  const token = query.get('token') ?? '';
  const view = useLoad(token ? (signal) => describeUnsubscribe(token, signal) : null, [token]);
  const [done, setDone] = useState(false);
  const [problem, setProblem] = useState<Localised | null>(null);

  const confirm = async () => {
    setProblem(null);
    try {
      await confirmUnsubscribe(token);
      setDone(true);
    } catch (error) {
      setProblem(problemMessage(problemOf(error), t));
    }
  };

  const what = view.value
    ? t('unsubscribe.what', {
        purpose: named(t, 'prefs.purpose', view.value.purpose),
        channel: named(t, 'prefs.channel', view.value.channel),
      })
    : '';
  return (
    <>
      <h1 tabIndex={-1}>{t('unsubscribe.title')}</h1>
      {!token && <p>{t('unsubscribe.no_token')}</p>}
      {view.problem && (
        <div class="notice notice--error" role="alert">
          <p>
            <Text value={view.problem.code === 'unsubscribe_token_expired' || view.problem.code === 'unsubscribe_token_invalid'
              ? { text: t('unsubscribe.invalid') } : problemMessage(view.problem, t)} />
          </p>
        </div>
      )}
      {token && !view.value && !view.problem && <p role="status">{t('common.loading')}</p>}
      <div role="status">
        {done && <p class="notice notice--success">{t('unsubscribe.done', { what })}</p>}
      </div>
      {view.value && !done && (
        view.value.already_unsubscribed ? (
          <p>{t('unsubscribe.already', { what })}</p>
        ) : (
          <>
            <p>{t('unsubscribe.confirm.text', { what })}</p>
            <p>
              <button type="button" class="button button--primary" onClick={() => void confirm()}>
                {t('unsubscribe.confirm')}
              </button>
            </p>
          </>
        )
      )}
      {problem && (
        <div class="notice notice--error" role="alert">
          <p>
            <Text value={problem} />
          </p>
        </div>
      )}
    </>
  );
}
