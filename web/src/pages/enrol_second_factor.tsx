import { useEffect, useRef, useState } from 'preact/hooks';
import { problemOf, type Problem } from '../api';
import {
  ErrorSummary,
  LiveMessage,
  SubmitButton,
  Text,
  TextField,
  errorFor,
  useSubmission,
} from '../components/form';
import { setFlash } from '../components/flash';
import { useI18n } from '../i18n';
import { confirmSecondFactor, startSecondFactor, type TotpEnrolment } from '../identity';
import { formErrors, problemMessage, type Localised } from '../problems';
import { Link, navigate, safeNext, useLocation } from '../router';
import { useSession, useUser } from '../session';

type Step =
  | { kind: 'intro' }
  | { kind: 'starting' }
  | { kind: 'failed'; problem: Problem }
  | { kind: 'scan'; enrolment: TotpEnrolment }
  | { kind: 'codes'; codes: string[] };

/** The QR code is an SVG document from the server, shown as an image (no markup injected). */
export function svgDataUri(svg: string): string {
  const bytes = new TextEncoder().encode(svg);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

/** "JBSWY3DPEHPK3PXP" as "JBSW Y3DP EHPK 3PXP": easier to copy by hand. */
const groupSecret = (secret: string) => secret.match(/.{1,4}/g)?.join(' ') ?? secret;

/** Setting up an authenticator app: QR code, key for manual entry, first code, recovery codes. */
export function EnrolSecondFactorPage() {
  const { t } = useI18n();
  const user = useUser();
  const { query } = useLocation();
  const next = safeNext(query.get('next'), '/account');
  const [step, setStep] = useState<Step>(
    user.second_factor_enabled ? { kind: 'intro' } : { kind: 'starting' },
  );

  const start = async () => {
    setStep({ kind: 'starting' });
    try {
      setStep({ kind: 'scan', enrolment: await startSecondFactor() });
    } catch (error) {
      setStep({ kind: 'failed', problem: problemOf(error) });
    }
  };

  useEffect(() => {
    if (step.kind === 'starting') void start();
  }, []);

  return (
    <>
      <h1 tabIndex={-1}>{t('enrol.title')}</h1>
      {user.second_factor_required && !user.second_factor_enabled ? (
        <div class="notice">
          <p>{t('enrol.required')}</p>
        </div>
      ) : (
        step.kind !== 'codes' && <p class="lead">{t('enrol.lead')}</p>
      )}
      {step.kind === 'intro' && (
        <>
          <p>{t('enrol.replace.body')}</p>
          <p class="button-row">
            <button type="button" class="button button--primary" onClick={() => void start()}>
              {t('enrol.replace.start')}
            </button>
            <Link href="/account" class="button button--secondary">
              {t('common.cancel')}
            </Link>
          </p>
        </>
      )}
      {step.kind === 'starting' && <p role="status">{t('enrol.starting')}</p>}
      {step.kind === 'failed' && (
        <div class="notice notice--error" role="alert">
          <h2 class="notice__title">{t('enrol.failed')}</h2>
          <p>
            <Text value={problemMessage(step.problem, t)} />
          </p>
          <p>
            <button type="button" class="button button--secondary" onClick={() => void start()}>
              {t('common.retry')}
            </button>
          </p>
        </div>
      )}
      {step.kind === 'scan' && (
        <ScanStep
          enrolment={step.enrolment}
          onConfirmed={(codes) => setStep({ kind: 'codes', codes })}
        />
      )}
      {step.kind === 'codes' && <RecoveryCodes codes={step.codes} next={next} />}
    </>
  );
}

function ScanStep({
  enrolment,
  onConfirmed,
}: {
  enrolment: TotpEnrolment;
  onConfirmed: (codes: string[]) => void;
}) {
  const { t } = useI18n();
  const session = useSession();
  const form = useSubmission();
  const [code, setCode] = useState('');

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    if (form.busy) return;
    const typed = code.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(typed)) {
      return form.fail([{ field: 'enrol-code', text: t('second.code.invalid') }]);
    }
    form.setBusy(true);
    try {
      const { recovery_codes } = await confirmSecondFactor(typed);
      form.clear();
      onConfirmed(recovery_codes);
      await session.refresh();
    } catch (error) {
      setCode('');
      form.fail(formErrors(problemOf(error), t, { '/code': 'enrol-code' }));
    } finally {
      form.setBusy(false);
    }
  };

  return (
    <>
      <section aria-labelledby="enrol-app-title">
        <h2 id="enrol-app-title">{t('enrol.step1.title')}</h2>
        <p>{t('enrol.step1.body')}</p>
      </section>
      <section aria-labelledby="enrol-scan-title">
        <h2 id="enrol-scan-title">{t('enrol.step2.title')}</h2>
        <div class="enrol-scan">
          <img
            class="qr-code"
            src={svgDataUri(enrolment.qr_svg)}
            alt={t('enrol.qr.alt')}
            width={200}
            height={200}
          />
          <div>
            <p>{t('enrol.secret.intro')}</p>
            <p>
              <code class="secret" data-testid="totp-secret">
                {groupSecret(enrolment.secret)}
              </code>
            </p>
            <p class="field__hint">{t('enrol.secret.hint')}</p>
            <p>
              <a href={enrolment.otpauth_uri}>{t('enrol.open_app')}</a>
            </p>
          </div>
        </div>
      </section>
      <section aria-labelledby="enrol-code-title">
        <h2 id="enrol-code-title">{t('enrol.step3.title')}</h2>
        <ErrorSummary errors={form.errors} attempt={form.attempt} />
        <form class="form narrow" noValidate onSubmit={onSubmit} aria-busy={form.busy}>
          <TextField
            id="enrol-code"
            label={t('second.code')}
            hint={t('enrol.code.hint')}
            inputMode="numeric"
            autocomplete="one-time-code"
            spellcheck={false}
            class="field--short"
            value={code}
            onInput={setCode}
            error={errorFor(form.errors, 'enrol-code')}
          />
          <SubmitButton busy={form.busy}>{t('enrol.submit')}</SubmitButton>
        </form>
      </section>
    </>
  );
}

function RecoveryCodes({ codes, next }: { codes: string[]; next: string }) {
  const { t } = useI18n();
  const form = useSubmission();
  const [kept, setKept] = useState(false);
  const [copied, setCopied] = useState<Localised | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  // The form that had the focus is gone: continue reading from the new section.
  useEffect(() => heading.current?.focus(), []);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(codes.join('\n'));
      setCopied({ text: t('enrol.codes.copied') });
    } catch {
      setCopied({ text: t('enrol.codes.copy_failed') });
    }
  };

  const onSubmit = (event: Event) => {
    event.preventDefault();
    if (!kept) return form.fail([{ field: 'enrol-kept', text: t('enrol.codes.kept.missing') }]);
    setFlash(t('enrol.done'), next);
    navigate(next);
  };

  const keptError = errorFor(form.errors, 'enrol-kept');
  return (
    <section aria-labelledby="recovery-title" class="recovery">
      <div class="notice notice--success">
        <p>{t('enrol.confirmed')}</p>
      </div>
      <h2 id="recovery-title" tabIndex={-1} ref={heading}>
        {t('enrol.codes.title')}
      </h2>
      <div class="notice notice--warning">
        <p>
          <strong>{t('enrol.codes.warning.title')}</strong> {t('enrol.codes.warning')}
        </p>
      </div>
      <ol class="recovery-codes" data-testid="recovery-codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <p class="button-row no-print">
        <button type="button" class="button button--secondary" onClick={() => void copy()}>
          {t('enrol.codes.copy')}
        </button>
        <button type="button" class="button button--secondary" onClick={() => print()}>
          {t('enrol.codes.print')}
        </button>
      </p>
      <LiveMessage message={copied} tone="info" />
      <ErrorSummary errors={form.errors} attempt={form.attempt} />
      <form class="form no-print" noValidate onSubmit={onSubmit}>
        <div class={`field${keptError ? ' field--error' : ''}`}>
          {keptError && (
            <p class="field__error" id="enrol-kept-error">
              <span class="visually-hidden">{t('form.error.prefix')}</span>
              {keptError.text}
            </p>
          )}
          <div class="choice">
            <input
              id="enrol-kept"
              type="checkbox"
              checked={kept}
              onChange={(event) => setKept(event.currentTarget.checked)}
              aria-invalid={keptError ? 'true' : undefined}
              aria-describedby={keptError ? 'enrol-kept-error' : undefined}
            />
            <label for="enrol-kept">{t('enrol.codes.kept')}</label>
          </div>
        </div>
        <SubmitButton busy={false}>{t('enrol.codes.continue')}</SubmitButton>
      </form>
    </section>
  );
}
