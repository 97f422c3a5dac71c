// The page of the activation link sent when an institution opens a wallet:
// `/wallet/activate#token=…` (the token stays in the fragment, never sent in a URL to the server
// or in a Referer). The holder chooses a password — and is logged in — or declines the account,
// which is then closed for good and its personal data erased.
import { useRef, useState } from 'preact/hooks';
import { problemOf } from '../api';
import {
  ErrorSummary, PasswordField, PasswordRules, SubmitButton, Text, errorFor, useSubmission,
} from '../components/form';
import { useI18n } from '../i18n';
import { formErrors, problemMessage, type FormError, type Localised } from '../problems';
import { Link, navigate } from '../router';
import { activateWallet, deactivateWallet } from '../wallet';

function tokenFromFragment(): string {
  return new URLSearchParams(location.hash.replace(/^#/, '')).get('token') ?? '';
}

export function WalletActivatePage() {
  const { t } = useI18n();
  const [token] = useState(tokenFromFragment);
  const form = useSubmission();
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [declining, setDeclining] = useState(false);
  const [declined, setDeclined] = useState(false);
  const [linkProblem, setLinkProblem] = useState<Localised | null>(null);
  const outcome = useRef<HTMLDivElement>(null);

  const refused = (error: unknown, fields: Record<string, string>) => {
    const problem = problemOf(error);
    if (problem.code === 'activation_link_invalid') {
      form.clear();
      setLinkProblem(problemMessage(problem, t));
      requestAnimationFrame(() => outcome.current?.focus());
    } else {
      form.fail(formErrors(problem, t, fields));
    }
  };

  const activate = async (event: Event) => {
    event.preventDefault();
    if (form.busy) return;
    const errors: FormError[] = [];
    if (!password) errors.push({ field: 'activate-password', text: t('password.new.missing') });
    else if (password !== confirm) errors.push({ field: 'activate-confirm', text: t('password.confirm.mismatch') });
    if (errors.length > 0) return form.fail(errors);
    form.setBusy(true);
    try {
      await activateWallet(token, password);
      form.clear();
      navigate('/wallet', { replace: true });
    } catch (error) {
      refused(error, { '/password': 'activate-password' });
    } finally {
      form.setBusy(false);
    }
  };

  const decline = async () => {
    if (form.busy) return;
    form.setBusy(true);
    try {
      await deactivateWallet(token);
      form.clear();
      setDeclined(true);
      requestAnimationFrame(() => outcome.current?.focus());
    } catch (error) {
      refused(error, {});
    } finally {
      form.setBusy(false);
    }
  };

  let body;
  if (!token || linkProblem) {
    body = (
      <div class="notice notice--error" role="alert" tabIndex={-1} ref={outcome}>
        <h2 class="notice__title">{t('wallet.activate.invalid')}</h2>
        <p>{linkProblem ? <Text value={linkProblem} /> : t('wallet.activate.missing')}</p>
      </div>
    );
  } else if (declined) {
    body = (
      <div class="notice notice--success" role="status" tabIndex={-1} ref={outcome}>
        <h2 class="notice__title">{t('wallet.activate.declined')}</h2>
        <p>{t('wallet.activate.declined.body')}</p>
      </div>
    );
  } else {
    body = (
      <>
        <p class="lead">{t('wallet.activate.lead')}</p>
        <ErrorSummary errors={form.errors} attempt={form.attempt} />
        <form class="form" noValidate onSubmit={activate} aria-busy={form.busy}>
          <PasswordRules id="activate-rules" />
          <PasswordField id="activate-password" label={t('password.new')} autocomplete="new-password"
            describedBy="activate-rules" value={password} onInput={setPassword}
            error={errorFor(form.errors, 'activate-password')} />
          <PasswordField id="activate-confirm" label={t('password.confirm')} autocomplete="new-password"
            value={confirm} onInput={setConfirm} error={errorFor(form.errors, 'activate-confirm')} />
          <SubmitButton busy={form.busy}>{t('wallet.activate.submit')}</SubmitButton>
        </form>
        <h2>{t('wallet.activate.decline.title')}</h2>
        <p>{t('wallet.activate.decline.body')}</p>
        {declining ? (
          <div class="notice notice--warning" role="group" aria-labelledby="decline-confirm">
            <p id="decline-confirm">{t('wallet.activate.decline.confirm')}</p>
            <p class="button-row">
              <button type="button" class="button button--danger" onClick={() => void decline()}>
                {t('wallet.activate.decline.yes')}
              </button>
              <button type="button" class="button button--secondary" onClick={() => setDeclining(false)}>
                {t('common.cancel')}
              </button>
            </p>
          </div>
        ) : (
          <button type="button" class="button button--secondary" onClick={() => setDeclining(true)}>
            {t('wallet.activate.decline')}
          </button>
        )}
      </>
    );
  }
  return (
    <div class="narrow">
      <h1 tabIndex={-1}>{t('wallet.activate.title')}</h1>
      {body}
      <p>
        <Link href="/wallet">{t('wallet.back')}</Link>
      </p>
    </div>
  );
}
