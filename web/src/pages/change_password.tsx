import { useState } from 'preact/hooks';
import { problemOf } from '../api';
import {
  ErrorSummary,
  PasswordField,
  PasswordRules,
  SubmitButton,
  errorFor,
  useSubmission,
} from '../components/form';
import { setFlash } from '../components/flash';
import { useI18n } from '../i18n';
import { changePassword, getSession } from '../identity';
import { formErrors, type FormError } from '../problems';
import { Link, navigate, safeNext, useLocation } from '../router';
import { useSession, useUser } from '../session';
import { continueTo } from './login';

const pointers = {
  '/current_password': 'password-current',
  '/new_password': 'password-new',
  '/password': 'password-new',
};

/** Changing one's password; forced at the first login of an account given an initial one. */
export function ChangePasswordPage() {
  const { t } = useI18n();
  const session = useSession();
  const user = useUser();
  const { query } = useLocation();
  const forced = user.must_change_password;
  const next = safeNext(query.get('next'), forced ? '/' : '/account');
  const form = useSubmission();
  const [current, setCurrent] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    if (form.busy) return;
    const errors: FormError[] = [];
    if (!current) errors.push({ field: 'password-current', text: t('password.current.missing') });
    if (!password) errors.push({ field: 'password-new', text: t('password.new.missing') });
    else if (password !== confirm) {
      errors.push({ field: 'password-confirm', text: t('password.confirm.mismatch') });
    }
    if (errors.length > 0) return form.fail(errors);
    form.setBusy(true);
    try {
      await changePassword(current, password);
      const info = await getSession();
      form.clear();
      const target = continueTo(info.user, next);
      session.signedIn(info);
      setFlash(t('password.change.done'), target);
      navigate(target);
    } catch (error) {
      setCurrent('');
      form.fail(formErrors(problemOf(error), t, pointers));
    } finally {
      form.setBusy(false);
    }
  };

  return (
    <div class="narrow">
      <h1 tabIndex={-1}>{t('password.change.title')}</h1>
      {forced ? (
        <div class="notice">
          <p>{t('password.change.forced')}</p>
        </div>
      ) : (
        <p class="lead">{t('password.change.lead')}</p>
      )}
      <ErrorSummary errors={form.errors} attempt={form.attempt} />
      <form class="form" noValidate onSubmit={onSubmit} aria-busy={form.busy}>
        {/* For password managers, which file the new password under this account. */}
        <input type="text" name="username" autocomplete="username" value={user.email} readOnly hidden />
        <PasswordField
          id="password-current"
          label={t('password.current')}
          autocomplete="current-password"
          value={current}
          onInput={setCurrent}
          error={errorFor(form.errors, 'password-current')}
        />
        <PasswordRules id="password-rules" />
        <PasswordField
          id="password-new"
          label={t('password.new')}
          autocomplete="new-password"
          describedBy="password-rules"
          value={password}
          onInput={setPassword}
          error={errorFor(form.errors, 'password-new')}
        />
        <PasswordField
          id="password-confirm"
          label={t('password.confirm')}
          autocomplete="new-password"
          value={confirm}
          onInput={setConfirm}
          error={errorFor(form.errors, 'password-confirm')}
        />
        <SubmitButton busy={form.busy}>{t('password.change.submit')}</SubmitButton>
      </form>
      {!forced && (
        <p class="back-link">
          <Link href="/account">{t('account.back')}</Link>
        </p>
      )}
    </div>
  );
}
