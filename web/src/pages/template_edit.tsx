// Editing one template of an organisation in one language: subject, text and HTML parts with
// the variables it may use, a preview with sample values, saving, and going back to the
// inherited or built-in template.
import { useLayoutEffect, useState } from 'preact/hooks';
import { ErrorSummary, LiveMessage, SubmitButton, Text, errorFor, useSubmission } from '../components/form';
import { useI18n } from '../i18n';
import { languageName, named } from '../labels';
import {
  getTemplate, listTemplateCodes, previewTemplate, resetTemplate, saveTemplate, type Rendered,
} from '../notify_content';
import { formErrors, problemMessage, type FormError, type Localised } from '../problems';
import { problemOf } from '../api';
import { Link } from '../router';
import { useLoad } from '../use_load';

function TextArea({ id, label, value, onInput, rows, error, lang }: {
  id: string; label: string; value: string; onInput: (value: string) => void; rows: number;
  error?: FormError | undefined; lang: string;
}) {
  return (
    <div class={`field${error ? ' field--error' : ''}`}>
      <label class="field__label" for={id}>
        {label}
      </label>
      {error && (
        <p class="field__error" id={`${id}-error`}>
          <Text value={error} />
        </p>
      )}
      <textarea
        id={id}
        class="input textarea"
        rows={rows}
        lang={lang}
        value={value}
        spellcheck
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onInput={(event) => onInput(event.currentTarget.value)}
      />
    </div>
  );
}

export function TemplateEditPage({ organisation, code, language }: { organisation: string; code: string; language: string }) {
  const { t } = useI18n();
  const org = /^\d+$/.test(organisation) ? Number(organisation) : 0;
  const stored = useLoad((signal) => getTemplate(org, code, language, signal), [org, code, language]);
  const codes = useLoad(listTemplateCodes, []);
  const [parts, setParts] = useState<Rendered>({ subject: '', text: '', html: '' });
  const [preview, setPreview] = useState<Rendered | null>(null);
  const [message, setMessage] = useState<Localised | null>(null);
  const submission = useSubmission();
  // A layout effect, not an effect: the loaded text must be in the fields before anyone can
  // type, or a late effect would overwrite what was typed.
  useLayoutEffect(() => {
    if (stored.value) setParts({ subject: stored.value.subject, text: stored.value.text, html: stored.value.html });
  }, [stored.value]);
  const described = codes.value?.find((item) => item.code === code);
  const fields = { '/subject': 'template-subject', '/text': 'template-text', '/html': 'template-html' };

  const showPreview = async () => {
    setMessage(null);
    try {
      setPreview(await previewTemplate(org, { code, language, ...parts }));
      submission.clear();
    } catch (error) {
      submission.fail(formErrors(problemOf(error), t, fields));
    }
  };
  const save = async (event: Event) => {
    event.preventDefault();
    if (submission.busy) return;
    submission.setBusy(true);
    setMessage(null);
    try {
      stored.set(await saveTemplate(org, code, language, parts));
      submission.clear();
      setMessage({ text: t('template.saved') });
    } catch (error) {
      submission.fail(formErrors(problemOf(error), t, fields));
    } finally {
      submission.setBusy(false);
    }
  };
  const reset = async () => {
    setMessage(null);
    try {
      await resetTemplate(org, code, language);
      stored.reload();
      setMessage({ text: t('template.reset.done') });
    } catch (error) {
      submission.fail(formErrors(problemOf(error), t, fields));
    }
  };

  return (
    <>
      <p>
        <Link href={`/messages/templates?organisation=${org}`}>{t('template.back')}</Link>
      </p>
      <h1 tabIndex={-1}>{t('template.title', { code, language: languageName(language) })}</h1>
      {described && <p class="lead">{described.description}</p>}
      {stored.problem && (
        <div class="notice notice--error" role="alert">
          <p>
            <Text value={problemMessage(stored.problem, t)} />
          </p>
        </div>
      )}
      {stored.value && (
        <>
          <p>{t('template.source', { source: named(t, 'templates.source', stored.value.source) })}</p>
          {described && described.variables.length > 0 && (
            <section aria-labelledby="template-variables-title">
              <h2 id="template-variables-title">{t('template.variables')}</h2>
              <ul>
                {described.variables.map((variable) => (
                  <li key={variable.name}>
                    <code>{`{{ ${variable.name} }}`}</code> — <span lang="en">{variable.description}</span>
                  </li>
                ))}
              </ul>
              <p class="field__hint">{t('template.syntax')}</p>
            </section>
          )}
          <form noValidate onSubmit={save}>
            <ErrorSummary errors={submission.errors} attempt={submission.attempt} />
            <TextArea id="template-subject" label={t('template.subject')} rows={1} lang={language}
              value={parts.subject} onInput={(subject) => setParts({ ...parts, subject })}
              error={errorFor(submission.errors, 'template-subject')} />
            <TextArea id="template-text" label={t('template.text')} rows={8} lang={language}
              value={parts.text} onInput={(text) => setParts({ ...parts, text })}
              error={errorFor(submission.errors, 'template-text')} />
            <TextArea id="template-html" label={t('template.html')} rows={8} lang={language}
              value={parts.html} onInput={(html) => setParts({ ...parts, html })}
              error={errorFor(submission.errors, 'template-html')} />
            <p class="button-row">
              <button type="button" class="button button--secondary" onClick={() => void showPreview()}>
                {t('template.preview')}
              </button>
              <SubmitButton busy={submission.busy}>{t('template.save')}</SubmitButton>
              {stored.value.source === 'own' && (
                <button type="button" class="button button--secondary" onClick={() => void reset()}>
                  {t('template.reset')}
                </button>
              )}
            </p>
          </form>
          <LiveMessage message={message} />
          {preview && (
            <section aria-labelledby="template-preview-title" data-testid="template-preview">
              <h2 id="template-preview-title">{t('template.preview.title')}</h2>
              <dl class="summary-list" lang={language}>
                <dt>{t('template.subject')}</dt>
                <dd data-testid="preview-subject">{preview.subject}</dd>
                <dt>{t('template.text')}</dt>
                <dd>
                  <pre class="preview-text">{preview.text}</pre>
                </dd>
                <dt>{t('template.html')}</dt>
                <dd>
                  <pre class="preview-text">{preview.html}</pre>
                </dd>
              </dl>
            </section>
          )}
        </>
      )}
    </>
  );
}
