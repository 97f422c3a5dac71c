import { useRef, useState } from 'preact/hooks';
import { problemOf } from '../api';
import {
  ErrorSummary,
  PasswordField,
  PasswordRules,
  SubmitButton,
  Text,
  errorFor,
  useSubmission,
} from '../components/form';
import { useI18n } from '../i18n';
import { confirmPasswordReset } from '../identity';
import { formErrors, problemMessage, type FormError, type Localised } from '../problems';
import { Link, useLocation } from '../router';

/** The page of a reset (or invitation) link: `/reset-password?token=…`. */
export function ResetPasswordPage() {
  const { t } = useI18n();
  const { query } = useLocation();
  const token = query.get('token') ?? '';
  const form = useSubmission();
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [done, setDone] = useState(false);
  const [linkProblem, setLinkProblem] = useState<Localised | null>(null);
  const outcome = useRef<HTMLDivElement>(null);

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    if (form.busy) return;
    const errors: FormError[] = [];
    if (!password) errors.push({ field: 'reset-password', text: t('password.new.missing') });
    else if (password !== confirm) {
      errors.push({ field: 'reset-confirm', text: t('password.confirm.mismatch') });
    }
    if (errors.length > 0) return form.fail(errors);
    form.setBusy(true);
    try {
      await confirmPasswordReset(token, password);
      form.clear();
      setDone(true);
      requestAnimationFrame(() => outcome.current?.focus());
    } catch (error) {
      const problem = problemOf(error);
      if (problem.code === 'reset_link_invalid') {
        form.clear();
        setLinkProblem(problemMessage(problem, t));
        requestAnimationFrame(() => outcome.current?.focus());
      } else {
        form.fail(
          formErrors(problem, t, { '/password': 'reset-password', '/new_password': 'reset-password' }),
        );
      }
    } finally {
      form.setBusy(false);
    }
  };

  let body;
  if (!token || linkProblem) {
    body = (
      <div class="notice notice--error" role="alert" tabIndex={-1} ref={outcome}>
        <h2 class="notice__title">{t('reset.invalid.title')}</h2>
        <p>{linkProblem ? <Text value={linkProblem} /> : t('reset.invalid.missing')}</p>
        <p>
          <Link href="/forgot-password">{t('reset.invalid.again')}</Link>
        </p>
      </div>
    );
  } else if (done) {
    body = (
      <div class="notice notice--success" role="status" tabIndex={-1} ref={outcome}>
        <h2 class="notice__title">{t('reset.done.title')}</h2>
        <p>{t('reset.done.body')}</p>
        <p>
          <Link href="/login">{t('reset.done.login')}</Link>
        </p>
      </div>
    );
  } else {
    body = (
      <>
        <p class="lead">{t('reset.lead')}</p>
        <ErrorSummary errors={form.errors} attempt={form.attempt} />
        <form class="form" noValidate onSubmit={onSubmit} aria-busy={form.busy}>
          <PasswordRules id="reset-rules" />
          <PasswordField
            id="reset-password"
            label={t('password.new')}
            autocomplete="new-password"
            describedBy="reset-rules"
            value={password}
            onInput={setPassword}
            error={errorFor(form.errors, 'reset-password')}
          />
          <PasswordField
            id="reset-confirm"
            label={t('password.confirm')}
            autocomplete="new-password"
            value={confirm}
            onInput={setConfirm}
            error={errorFor(form.errors, 'reset-confirm')}
          />
          <SubmitButton busy={form.busy}>{t('reset.submit')}</SubmitButton>
        </form>
      </>
    );
  }

  return (
    <div class="narrow">
      <h1 tabIndex={-1}>{t('reset.title')}</h1>
      {body}
    </div>
  );
}
