import { useEffect, useRef, useState } from 'preact/hooks';
import { problemOf } from '../api';
import {
  ErrorSummary,
  PasswordField,
  SubmitButton,
  TextField,
  errorFor,
  useSubmission,
} from '../components/form';
import { setFlash } from '../components/flash';
import { useI18n, type MessageKey } from '../i18n';
import {
  completeSecondFactor,
  getOidc,
  login,
  needsEnrolment,
  oidcLoginUrl,
  type User,
} from '../identity';
import { formErrors, problemMessage, type FormError } from '../problems';
import { Link, navigate, safeNext, useLocation, withNext } from '../router';
import { useSession } from '../session';
import { useLoad } from '../use_load';

/**
 * Where a person goes once logged in: a forced password change and the set-up of the
 * authenticator app come first, then the page they were after.
 */
export function continueTo(user: User, next: string): string {
  if (user.must_change_password) return withNext('/change-password', next);
  if (needsEnrolment(user)) return withNext('/account/second-factor', next);
  return next;
}

export function LoginPage() {
  const { t } = useI18n();
  const { state, refresh } = useSession();
  const { query } = useLocation();
  const next = safeNext(query.get('next'));
  // Back from the identity provider (?oidc=1): the server set the session cookie during a
  // redirect the app did not see, so it asks for the session once before showing a form.
  const [checking, setChecking] = useState(query.has('oidc') && state.kind === 'anonymous');

  useEffect(() => {
    if (checking) void refresh().finally(() => setChecking(false));
    // Only on arrival.
  }, []);

  useEffect(() => {
    if (state.kind === 'active') navigate(continueTo(state.user, next), { replace: true });
  }, [state, next]);

  if (!checking && state.kind === 'pending') return <SecondFactorStep user={state.user} />;
  if (!checking && state.kind === 'anonymous') return <PasswordStep next={next} />;
  return (
    <>
      <h1 tabIndex={-1}>{t('login.title')}</h1>
      <p role="status">{t(checking ? 'login.oidc.checking' : 'common.loading')}</p>
    </>
  );
}

// Why a login through the provider failed, by the code the server put in ?oidc_error=.
const oidcErrors = new Map<string, MessageKey>([
  ['no_account', 'login.oidc.error.no_account'],
  ['email_unverified', 'login.oidc.error.email_unverified'],
  ['account_conflict', 'login.oidc.error.account_conflict'],
  ['provider_error', 'login.oidc.error.provider_error'],
  ['disabled', 'login.oidc.error.disabled'],
  ['state_missing', 'login.oidc.error.restart'],
  ['state_mismatch', 'login.oidc.error.restart'],
  ['state_invalid', 'login.oidc.error.restart'],
  ['state_used', 'login.oidc.error.restart'],
  ['invalid_request', 'login.oidc.error.restart'],
  ['invalid_next', 'login.oidc.error.restart'],
]);

function OidcError({ code }: { code: string }) {
  const { t } = useI18n();
  // The code comes from the address bar: only a code-shaped value is repeated on the page.
  const shown = /^[a-z_]{1,40}$/.test(code);
  return (
    <div class="notice notice--error" role="alert">
      <h2 class="notice__title">{t('login.oidc.error.title')}</h2>
      <p>{t(oidcErrors.get(code) ?? 'login.oidc.error.unavailable')}</p>
      {shown ? <p>{t('login.oidc.error.code', { code })}</p> : null}
    </div>
  );
}

/** The provider's button, only when the server says one is configured. */
function OidcChoice({ next }: { next: string }) {
  const { t } = useI18n();
  const oidc = useLoad((signal) => getOidc(signal), []);
  if (!oidc.value?.enabled) return null;
  return (
    <>
      <p>
        <a class="button button--secondary" href={oidcLoginUrl(next)}>
          {t('login.oidc', { name: oidc.value.display_name })}
        </a>
      </p>
      <p>{t('login.oidc.or')}</p>
    </>
  );
}

function PasswordStep({ next }: { next: string }) {
  const { t } = useI18n();
  const session = useSession();
  const oidcError = useLocation().query.get('oidc_error');
  const form = useSubmission();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    if (form.busy) return;
    const errors: FormError[] = [];
    if (!email.trim()) errors.push({ field: 'login-email', text: t('login.email.missing') });
    if (!password) errors.push({ field: 'login-password', text: t('login.password.missing') });
    if (errors.length > 0) return form.fail(errors);
    form.setBusy(true);
    try {
      const info = await login(email.trim(), password);
      form.clear();
      session.signedIn(info);
    } catch (error) {
      setPassword('');
      form.fail(formErrors(problemOf(error), t));
    } finally {
      form.setBusy(false);
    }
  };

  return (
    <div class="narrow">
      <h1 tabIndex={-1}>{t('login.title')}</h1>
      <p class="lead">{t('login.lead')}</p>
      {oidcError ? <OidcError code={oidcError} /> : null}
      <ErrorSummary errors={form.errors} attempt={form.attempt} />
      <OidcChoice next={next} />
      <form class="form" noValidate onSubmit={onSubmit} aria-busy={form.busy}>
        <TextField
          id="login-email"
          label={t('login.email')}
          hint={t('login.email.hint')}
          type="email"
          autocomplete="username"
          spellcheck={false}
          value={email}
          onInput={setEmail}
          error={errorFor(form.errors, 'login-email')}
        />
        <PasswordField
          id="login-password"
          label={t('login.password')}
          autocomplete="current-password"
          value={password}
          onInput={setPassword}
          error={errorFor(form.errors, 'login-password')}
        />
        <p>
          <Link href="/forgot-password">{t('login.forgot')}</Link>
        </p>
        <SubmitButton busy={form.busy}>{t('login.submit')}</SubmitButton>
      </form>
    </div>
  );
}

type CodeKind = 'app' | 'recovery';

function SecondFactorStep({ user }: { user: User }) {
  const { t } = useI18n();
  const session = useSession();
  const form = useSubmission();
  const [kind, setKind] = useState<CodeKind>('app');
  const [code, setCode] = useState('');
  const heading = useRef<HTMLHeadingElement>(null);
  const switched = useRef(false);
  const fieldId = kind === 'app' ? 'second-factor-code' : 'second-factor-recovery';

  // Arriving from the password step is a new screen: start reading at its title. Switching
  // between app and recovery code moves to the new field.
  useEffect(() => {
    if (switched.current) document.getElementById(fieldId)?.focus();
    else heading.current?.focus();
  }, [kind]);

  const switchKind = () => {
    switched.current = true;
    form.clear();
    setCode('');
    setKind(kind === 'app' ? 'recovery' : 'app');
  };

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    if (form.busy) return;
    const typed = kind === 'app' ? code.replace(/\s+/g, '') : code.trim().toLowerCase();
    if (kind === 'app' && !/^\d{6}$/.test(typed)) {
      return form.fail([{ field: fieldId, text: t('second.code.invalid') }]);
    }
    if (kind === 'recovery' && !/^[a-z0-9]{12}$/.test(typed.replace(/[\s-]/g, ''))) {
      return form.fail([{ field: fieldId, text: t('second.recovery.invalid') }]);
    }
    form.setBusy(true);
    try {
      const info = await completeSecondFactor(typed);
      form.clear();
      session.signedIn(info);
    } catch (error) {
      const problem = problemOf(error);
      setCode('');
      if (problem.code === 'unauthenticated') {
        // The half-open session expired: start again from the password.
        setFlash(problemMessage(problem, t).text, location.pathname);
        await session.refresh();
        return;
      }
      const errors = formErrors(problem, t);
      form.fail(
        problem.code === 'invalid_second_factor'
          ? errors.map((item) => ({ ...item, field: fieldId }))
          : errors,
      );
    } finally {
      form.setBusy(false);
    }
  };

  const cancel = async () => {
    try {
      await session.signOut(false);
    } catch {
      await session.refresh();
    }
  };

  return (
    <div class="narrow">
      <h1 tabIndex={-1} ref={heading}>
        {t('second.title')}
      </h1>
      <p class="lead">{t('second.lead', { name: user.display_name })}</p>
      <ErrorSummary errors={form.errors} attempt={form.attempt} />
      <form class="form" noValidate onSubmit={onSubmit} aria-busy={form.busy}>
        {kind === 'app' ? (
          <TextField
            key="app"
            id={fieldId}
            label={t('second.code')}
            hint={t('second.code.hint')}
            inputMode="numeric"
            autocomplete="one-time-code"
            spellcheck={false}
            class="field--short"
            value={code}
            onInput={setCode}
            error={errorFor(form.errors, fieldId)}
          />
        ) : (
          <TextField
            key="recovery"
            id={fieldId}
            label={t('second.recovery')}
            hint={t('second.recovery.hint')}
            autocomplete="off"
            spellcheck={false}
            class="field--short"
            value={code}
            onInput={setCode}
            error={errorFor(form.errors, fieldId)}
          />
        )}
        <SubmitButton busy={form.busy}>{t('second.submit')}</SubmitButton>
      </form>
      <ul class="plain-list actions-list">
        <li>
          <button type="button" class="link-button" onClick={switchKind}>
            {kind === 'app' ? t('second.use_recovery') : t('second.use_app')}
          </button>
        </li>
        <li>
          <button type="button" class="link-button" onClick={() => void cancel()}>
            {t('second.cancel')}
          </button>
        </li>
      </ul>
    </div>
  );
}
