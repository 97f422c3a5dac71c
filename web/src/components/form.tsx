// Form building blocks shared by every screen: labelled fields with their hint and error, the
// error summary that lists every error with a link to its field, and live regions for the
// outcome of what a button started. Validation is ours (forms are `noValidate`) so that every
// message is in the page's language and reaches screen readers the same way.
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { useI18n } from '../i18n';
import type { FormError, Localised } from '../problems';

/** Shows a text that may be in another language than the page (see problems.ts). */
export function Text({ value }: { value: Localised }) {
  return value.lang ? <span lang={value.lang}>{value.text}</span> : <>{value.text}</>;
}

export const errorFor = (errors: readonly FormError[], field: string) =>
  errors.find((error) => error.field === field);

/** The state of a form being sent: its errors and whether a request is under way. */
export function useSubmission() {
  const [errors, setErrors] = useState<FormError[]>([]);
  const [attempt, setAttempt] = useState(0);
  const [busy, setBusy] = useState(false);
  return {
    errors,
    attempt,
    busy,
    setBusy,
    /** Shows these errors and moves the focus to their summary. */
    fail: (list: FormError[]) => {
      setErrors(list);
      setAttempt((count) => count + 1);
    },
    clear: () => setErrors([]),
  };
}

function focusField(id: string) {
  const element = document.getElementById(id);
  if (!element) return;
  element.focus();
  element.scrollIntoView({ block: 'center' });
}

/**
 * The list of a form's errors, focused after each refused attempt so that it is read first;
 * each error about a field links to it.
 */
export function ErrorSummary({ errors, attempt }: { errors: FormError[]; attempt: number }) {
  const { t } = useI18n();
  const ref = useRef<HTMLDivElement>(null);
  const titleId = `${useId()}-errors`;
  useEffect(() => {
    if (attempt > 0 && errors.length > 0) ref.current?.focus();
  }, [attempt]);
  if (errors.length === 0) return null;
  return (
    <div class="error-summary" tabIndex={-1} ref={ref}>
      <div role="alert">
        <h2 class="error-summary__title" id={titleId}>
          {t('form.errors.title')}
        </h2>
        <ul class="error-summary__list">
          {errors.map((error, index) => (
            <li key={index}>
              {error.field ? (
                <a
                  href={`#${error.field}`}
                  onClick={(event) => {
                    event.preventDefault();
                    focusField(error.field ?? '');
                  }}
                >
                  <Text value={error} />
                </a>
              ) : (
                <Text value={error} />
              )}
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}

/** Ids of the hint and error of field `id`, for aria-describedby. */
function describedBy(id: string, hint: boolean, error: boolean, extra?: string) {
  const ids = [hint && `${id}-hint`, error && `${id}-error`, extra].filter(Boolean);
  return ids.length > 0 ? ids.join(' ') : undefined;
}

function FieldError({ id, error }: { id: string; error: FormError | undefined }) {
  const { t } = useI18n();
  if (!error) return null;
  return (
    <p class="field__error" id={`${id}-error`}>
      <span class="visually-hidden">{t('form.error.prefix')}</span>
      <Text value={error} />
    </p>
  );
}

interface TextFieldProps {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  type?: 'text' | 'email' | 'password';
  autocomplete?: string;
  hint?: ComponentChildren;
  /** Id of a hint shown elsewhere (the password rules) that also describes this field. */
  describedBy?: string;
  error?: FormError | undefined;
  inputMode?: 'numeric' | 'text' | 'email';
  required?: boolean;
  spellcheck?: boolean;
  class?: string;
  children?: ComponentChildren;
}

export function TextField(props: TextFieldProps) {
  const { id, label, value, onInput, hint, error, type = 'text', required = true } = props;
  return (
    <div class={`field${error ? ' field--error' : ''} ${props.class ?? ''}`}>
      <label class="field__label" for={id}>
        {label}
      </label>
      {hint && (
        <p class="field__hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <FieldError id={id} error={error} />
      <div class="field__control">
        <input
          id={id}
          name={id}
          class="input"
          // Preact's types split <input> by `type`; all three here are text boxes.
          type={type as 'text'}
          value={value}
          onInput={(event) => onInput(event.currentTarget.value)}
          autocomplete={props.autocomplete}
          inputMode={props.inputMode}
          spellcheck={props.spellcheck}
          required={required}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={describedBy(id, !!hint, !!error, props.describedBy)}
        />
        {props.children}
      </div>
    </div>
  );
}

/** A password field with a button to show what was typed (long passwords are easy to mistype). */
export function PasswordField(props: Omit<TextFieldProps, 'type' | 'children'>) {
  const { t } = useI18n();
  const [shown, setShown] = useState(false);
  return (
    <TextField {...props} type={shown ? 'text' : 'password'} spellcheck={false}>
      <button
        type="button"
        class="button button--secondary button--small"
        aria-pressed={shown}
        aria-controls={props.id}
        onClick={() => setShown(!shown)}
      >
        {t('form.password.show')}
        <span class="visually-hidden"> : {props.label}</span>
      </button>
    </TextField>
  );
}

/** The password policy as the server applies it, told before the person types. */
export function PasswordRules({ id }: { id: string }) {
  const { t } = useI18n();
  return (
    <div class="password-rules" id={id}>
      <p>{t('password.rules.title')}</p>
      <ul>
        <li>{t('password.rules.length')}</li>
        <li>{t('password.rules.common')}</li>
        <li>{t('password.rules.personal')}</li>
      </ul>
      <p>{t('password.rules.tip')}</p>
    </div>
  );
}

interface SelectFieldProps {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  options: { value: string; label: string }[];
  placeholder?: string;
  hint?: ComponentChildren;
  error?: FormError | undefined;
  required?: boolean;
}

export function SelectField(props: SelectFieldProps) {
  const { id, label, value, onChange, options, hint, error, placeholder } = props;
  return (
    <div class={`field${error ? ' field--error' : ''}`}>
      <label class="field__label" for={id}>
        {label}
      </label>
      {hint && (
        <p class="field__hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <FieldError id={id} error={error} />
      <select
        id={id}
        name={id}
        class="select"
        value={value}
        onChange={(event) => onChange(event.currentTarget.value)}
        required={props.required ?? true}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(id, !!hint, !!error)}
      >
        {placeholder !== undefined && <option value="">{placeholder}</option>}
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  );
}

interface ChoiceFieldsetProps {
  id: string;
  legend: string;
  type: 'radio' | 'checkbox';
  options: { value: string; label: string; hint?: string }[];
  selected: readonly string[];
  onChange: (selected: string[]) => void;
  hint?: ComponentChildren;
  error?: FormError | undefined;
  empty?: ComponentChildren;
}

/** Radio buttons or checkboxes under one legend; the first box carries the id the errors link to. */
export function ChoiceFieldset(props: ChoiceFieldsetProps) {
  const { id, legend, type, options, selected, onChange, hint, error } = props;
  const toggle = (value: string, checked: boolean) => {
    if (type === 'radio') onChange([value]);
    else onChange(checked ? [...selected, value] : selected.filter((item) => item !== value));
  };
  return (
    <fieldset
      class={`field fieldset${error ? ' field--error' : ''}`}
      aria-describedby={describedBy(id, !!hint, !!error)}
    >
      <legend class="field__label">{legend}</legend>
      {hint && (
        <p class="field__hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <FieldError id={id} error={error} />
      {options.length === 0 && props.empty}
      <div class="choices">
        {options.map((option, index) => {
          const optionId = index === 0 ? id : `${id}-${index}`;
          return (
            <div class="choice" key={option.value}>
              <input
                id={optionId}
                type={type}
                name={id}
                value={option.value}
                checked={selected.includes(option.value)}
                onChange={(event) => toggle(option.value, event.currentTarget.checked)}
                aria-describedby={option.hint ? `${optionId}-hint` : undefined}
              />
              <label for={optionId}>
                {option.label}
                {option.hint && (
                  <span class="choice__hint" id={`${optionId}-hint`}>
                    {option.hint}
                  </span>
                )}
              </label>
            </div>
          );
        })}
      </div>
    </fieldset>
  );
}

/**
 * A polite live region that is always in the page, so that a message put in it later (the
 * outcome of a button) is announced. Empty, it takes no room.
 */
export function LiveMessage({
  message,
  tone = 'success',
}: {
  message: Localised | null;
  tone?: 'success' | 'info';
}) {
  return (
    <div role="status" class={message ? `notice notice--${tone} live-message` : 'live-message'}>
      {message && (
        <p>
          <Text value={message} />
        </p>
      )}
    </div>
  );
}

/** A submit button that says it is working while the request runs. */
export function SubmitButton({ busy, children }: { busy: boolean; children: ComponentChildren }) {
  return (
    <button type="submit" class="button button--primary" aria-disabled={busy}>
      {children}
    </button>
  );
}
