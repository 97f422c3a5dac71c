// A person's own message preferences: how often movement alerts come (each, daily, weekly),
// the optional low-balance threshold, and the consent given per purpose and channel.
import { useLayoutEffect, useState } from 'preact/hooks';
import {
  ChoiceFieldset, ErrorSummary, LiveMessage, SubmitButton, Text, TextField, errorFor, useSubmission,
} from '../components/form';
import { useI18n } from '../i18n';
import { named } from '../labels';
import {
  staffPreferencesApi, type ChannelChoice, type Frequency, type PreferencesApi,
} from '../notify_content';
import { formErrors, problemMessage, type Localised } from '../problems';
import { problemOf } from '../api';
import { useLoad } from '../use_load';

/** "12,50" or "12.50" → 1250 cents; null for an empty field; NaN when it is not an amount. */
export function parseEuros(text: string): number | null {
  const trimmed = text.trim().replace(/\s|€/g, '');
  if (!trimmed) return null;
  if (!/^\d{1,6}([.,]\d{1,2})?$/.test(trimmed)) return Number.NaN;
  return Math.round(Number(trimmed.replace(',', '.')) * 100);
}

export const formatEuros = (cents: number | null) =>
  cents === null ? '' : (cents / 100).toFixed(2).replace('.', ',');

function ConsentRow({ api, choice, onChanged }: {
  api: PreferencesApi; choice: ChannelChoice; onChanged: (text: Localised) => void;
}) {
  const { t } = useI18n();
  const [problem, setProblem] = useState<Localised | null>(null);
  // The box follows the click at once; it goes back if the server refuses the choice.
  const [granted, setGranted] = useState(choice.granted);
  useLayoutEffect(() => setGranted(choice.granted), [choice.granted]);
  const label = t('prefs.consent.label', {
    purpose: named(t, 'prefs.purpose', choice.purpose),
    channel: named(t, 'prefs.channel', choice.channel),
  });
  const toggle = async (wanted: boolean) => {
    setProblem(null);
    setGranted(wanted);
    try {
      await api.consent(choice.purpose, choice.channel, wanted, label);
      onChanged({ text: t(wanted ? 'prefs.consent.given' : 'prefs.consent.withdrawn', { what: label }) });
    } catch (error) {
      setGranted(!wanted);
      setProblem(problemMessage(problemOf(error), t));
    }
  };
  const id = `consent-${choice.purpose}-${choice.channel}`;
  return (
    <li class="choice">
      <input
        id={id}
        type="checkbox"
        checked={granted || choice.mandatory}
        disabled={choice.mandatory}
        aria-describedby={choice.mandatory ? `${id}-hint` : undefined}
        onChange={(event) => void toggle(event.currentTarget.checked)}
      />
      <label for={id}>
        {label}
        {choice.mandatory && (
          <span class="choice__hint" id={`${id}-hint`}>
            {t('prefs.consent.mandatory')}
          </span>
        )}
      </label>
      {problem && (
        <p class="field__error" role="alert">
          <Text value={problem} />
        </p>
      )}
    </li>
  );
}

/** One's own preferences; `api` says whose routes (staff by default, or a wallet holder's). */
export function MessagePreferencesPage({ api = staffPreferencesApi }: { api?: PreferencesApi } = {}) {
  const { t } = useI18n();
  const preferences = useLoad(api.get, [api]);
  const [frequency, setFrequency] = useState<Frequency>('weekly');
  const [threshold, setThreshold] = useState('');
  const [message, setMessage] = useState<Localised | null>(null);
  const submission = useSubmission();

  useLayoutEffect(() => {
    if (!preferences.value) return;
    setFrequency(preferences.value.alert_frequency);
    setThreshold(formatEuros(preferences.value.low_balance_threshold_cents));
  }, [preferences.value]);

  const save = async (event: Event) => {
    event.preventDefault();
    if (submission.busy) return;
    setMessage(null);
    const cents = parseEuros(threshold);
    if (Number.isNaN(cents)) {
      submission.fail([{ field: 'prefs-threshold', text: t('prefs.threshold.invalid') }]);
      return;
    }
    submission.setBusy(true);
    try {
      const saved = await api.set({ alert_frequency: frequency, low_balance_threshold_cents: cents });
      preferences.set(saved);
      submission.clear();
      setMessage({ text: t('prefs.saved') });
    } catch (error) {
      submission.fail(formErrors(problemOf(error), t, {
        '/alert_frequency': 'prefs-frequency', '/low_balance_threshold_cents': 'prefs-threshold',
      }));
    } finally {
      submission.setBusy(false);
    }
  };

  return (
    <>
      <h1 tabIndex={-1}>{t('prefs.title')}</h1>
      <p class="lead">{t('prefs.lead')}</p>
      {preferences.problem && (
        <div class="notice notice--error" role="alert">
          <p>
            <Text value={problemMessage(preferences.problem, t)} />
          </p>
        </div>
      )}
      {!preferences.value && !preferences.problem && <p role="status">{t('common.loading')}</p>}
      {preferences.value && (
        <>
          <form noValidate onSubmit={save}>
            <ErrorSummary errors={submission.errors} attempt={submission.attempt} />
            <ChoiceFieldset
              id="prefs-frequency"
              legend={t('prefs.frequency')}
              hint={t('prefs.frequency.hint')}
              type="radio"
              options={(['each', 'daily', 'weekly'] as const).map((value) => ({
                value,
                label: t(`prefs.frequency.${value}`),
              }))}
              selected={[frequency]}
              onChange={(values) => setFrequency((values[0] as Frequency | undefined) ?? 'weekly')}
              error={errorFor(submission.errors, 'prefs-frequency')}
            />
            <TextField
              id="prefs-threshold"
              label={t('prefs.threshold')}
              hint={t('prefs.threshold.hint')}
              value={threshold}
              onInput={setThreshold}
              inputMode="text"
              required={false}
              autocomplete="off"
              error={errorFor(submission.errors, 'prefs-threshold')}
            />
            <SubmitButton busy={submission.busy}>{t('prefs.save')}</SubmitButton>
          </form>
          <LiveMessage message={message} />
          <section aria-labelledby="prefs-consents-title">
            <h2 id="prefs-consents-title">{t('prefs.consents')}</h2>
            <p>{t('prefs.consents.lead')}</p>
            <ul class="plain-list choices">
              {preferences.value.channels.map((choice) => (
                <ConsentRow
                  api={api}
                  key={`${choice.purpose}-${choice.channel}`}
                  choice={choice}
                  onChanged={(text) => {
                    setMessage(text);
                    preferences.reload();
                  }}
                />
              ))}
            </ul>
          </section>
        </>
      )}
    </>
  );
}
