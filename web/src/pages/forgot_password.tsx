import { useRef, useState } from 'preact/hooks';
import { problemOf } from '../api';
import { ErrorSummary, SubmitButton, TextField, errorFor, useSubmission } from '../components/form';
import { useI18n } from '../i18n';
import { requestPasswordReset } from '../identity';
import { formErrors } from '../problems';
import { Link } from '../router';

const looksLikeEmail = (value: string) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value);

/** Asks for a reset link. The answer is the same whether the account exists or not. */
export function ForgotPasswordPage() {
  const { t } = useI18n();
  const form = useSubmission();
  const [email, setEmail] = useState('');
  const [sentTo, setSentTo] = useState<string | null>(null);
  const confirmation = useRef<HTMLDivElement>(null);

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    if (form.busy) return;
    const address = email.trim();
    if (!looksLikeEmail(address)) {
      return form.fail([{ field: 'forgot-email', text: t('forgot.email.invalid') }]);
    }
    form.setBusy(true);
    try {
      await requestPasswordReset(address);
      form.clear();
      setSentTo(address);
      // The form is replaced by the confirmation: take the focus there, or it would be lost.
      requestAnimationFrame(() => confirmation.current?.focus());
    } catch (error) {
      form.fail(formErrors(problemOf(error), t, { '/email': 'forgot-email' }));
    } finally {
      form.setBusy(false);
    }
  };

  return (
    <div class="narrow">
      <h1 tabIndex={-1}>{t('forgot.title')}</h1>
      {sentTo ? (
        <div class="notice notice--success" role="status" tabIndex={-1} ref={confirmation}>
          <h2 class="notice__title">{t('forgot.sent.title')}</h2>
          <p>{t('forgot.sent.body', { email: sentTo })}</p>
        </div>
      ) : (
        <>
          <p class="lead">{t('forgot.lead')}</p>
          <ErrorSummary errors={form.errors} attempt={form.attempt} />
          <form class="form" noValidate onSubmit={onSubmit} aria-busy={form.busy}>
            <TextField
              id="forgot-email"
              label={t('login.email')}
              hint={t('login.email.hint')}
              type="email"
              autocomplete="username"
              spellcheck={false}
              value={email}
              onInput={setEmail}
              error={errorFor(form.errors, 'forgot-email')}
            />
            <SubmitButton busy={form.busy}>{t('forgot.submit')}</SubmitButton>
          </form>
        </>
      )}
      <p class="back-link">
        <Link href="/login">{t('forgot.back')}</Link>
      </p>
    </div>
  );
}
