// What every page of the holder's wallet shares: the holder's login form, and the wrapper that
// shows it instead of the page when the browser has no holder session.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { problemOf } from '../api';
import { useI18n } from '../i18n';
import { formErrors, type FormError } from '../problems';
import { Link } from '../router';
import { holderLogin, useHolder } from '../wallet';
import { ErrorSummary, PasswordField, SubmitButton, TextField, errorFor, useSubmission } from './form';

export function HolderLoginForm() {
  const { t } = useI18n();
  const form = useSubmission();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const onSubmit = async (event: Event) => {
    event.preventDefault();
    if (form.busy) return;
    const errors: FormError[] = [];
    if (!email.trim()) errors.push({ field: 'wallet-email', text: t('login.email.missing') });
    if (!password) errors.push({ field: 'wallet-password', text: t('login.password.missing') });
    if (errors.length > 0) return form.fail(errors);
    form.setBusy(true);
    try {
      await holderLogin(email.trim(), password);
      form.clear();
    } catch (error) {
      const problem = problemOf(error);
      form.fail(
        problem.code === 'login_failed'
          ? [{ text: t('wallet.login.failed') }]
          : formErrors(problem, t, { '/email': 'wallet-email', '/password': 'wallet-password' }),
      );
    } finally {
      form.setBusy(false);
    }
  };
  return (
    <div class="narrow">
      <p class="lead">{t('wallet.login.lead')}</p>
      <ErrorSummary errors={form.errors} attempt={form.attempt} />
      <form class="form" noValidate onSubmit={onSubmit} aria-busy={form.busy}>
        <TextField id="wallet-email" label={t('login.email')} type="email" autocomplete="username" inputMode="email"
          value={email} onInput={setEmail} error={errorFor(form.errors, 'wallet-email')} />
        <PasswordField id="wallet-password" label={t('login.password')} autocomplete="current-password"
          value={password} onInput={setPassword} error={errorFor(form.errors, 'wallet-password')} />
        <SubmitButton busy={form.busy}>{t('wallet.login.submit')}</SubmitButton>
      </form>
      <h2>{t('wallet.open.title')}</h2>
      <p>{t('wallet.open.body')}</p>
    </div>
  );
}

/**
 * Wraps a holder-only page: the login form when there is no holder session. `ownHeading`: the
 * page renders its own h1 once the holder is known.
 */
export function HolderOnly({ title, children, ownHeading = false }: {
  title: string; children: () => ComponentChildren; ownHeading?: boolean;
}) {
  const { t } = useI18n();
  const state = useHolder();
  return (
    <>
      <p>
        <Link href="/wallet">{t('wallet.back')}</Link>
      </p>
      {!(ownHeading && state.kind === 'active') && <h1 tabIndex={-1}>{title}</h1>}
      {state.kind === 'loading' && <p role="status">{t('common.loading')}</p>}
      {state.kind === 'anonymous' && <HolderLoginForm />}
      {state.kind === 'active' && children()}
    </>
  );
}

