// The messages area for staff: the sections the reader's rights open, and the way to a
// person's message history.
import { useState } from 'preact/hooks';
import { ErrorSummary, TextField, errorFor, useSubmission } from '../components/form';
import { useI18n, type MessageKey } from '../i18n';
import { Link, navigate } from '../router';
import { useSession } from '../session';

interface Section {
  path: string;
  title: MessageKey;
  summary: MessageKey;
  permission: string;
}

export const messageSections: Section[] = [
  {
    path: '/messages/templates',
    title: 'templates.title',
    summary: 'messages.templates.summary',
    permission: 'notify.templates.manage',
  },
  {
    path: '/messages/campaigns',
    title: 'campaigns.title',
    summary: 'messages.campaigns.summary',
    permission: 'notify.campaigns.manage',
  },
  {
    path: '/messages/webhooks',
    title: 'webhooks.title',
    summary: 'messages.webhooks.summary',
    permission: 'notify.webhooks.read',
  },
  {
    path: '/messages/bad-addresses',
    title: 'bad.title',
    summary: 'messages.bad.summary',
    permission: 'notify.addresses.read',
  },
];

/** Staff accounts are the one person type so far; holders and visitors come with their modules. */
function HistoryLookup() {
  const { t } = useI18n();
  const [id, setId] = useState('');
  const submission = useSubmission();
  const submit = (event: Event) => {
    event.preventDefault();
    if (!/^\d+$/.test(id.trim())) {
      submission.fail([{ field: 'history-id', text: t('history.id.invalid') }]);
      return;
    }
    navigate(`/messages/people/staff/${id.trim()}`);
  };
  return (
    <form noValidate onSubmit={submit} aria-labelledby="history-lookup-title">
      <h2 id="history-lookup-title">{t('history.title')}</h2>
      <p>{t('messages.history.summary')}</p>
      <ErrorSummary errors={submission.errors} attempt={submission.attempt} />
      <TextField id="history-id" label={t('history.id')} value={id} onInput={setId} inputMode="numeric"
        autocomplete="off" error={errorFor(submission.errors, 'history-id')} />
      <button type="submit" class="button button--secondary">
        {t('history.show')}
      </button>
    </form>
  );
}

export function MessagesPage() {
  const { t } = useI18n();
  const { permissions } = useSession();
  const open = messageSections.filter((section) => permissions.has(section.permission));
  return (
    <>
      <h1 tabIndex={-1}>{t('messages.title')}</h1>
      <p class="lead">{t('messages.lead')}</p>
      <ul class="plain-list">
        {open.map((section) => (
          <li key={section.path}>
            <h2>
              <Link href={section.path}>{t(section.title)}</Link>
            </h2>
            <p>{t(section.summary)}</p>
          </li>
        ))}
      </ul>
      {permissions.has('notify.people.read') && <HistoryLookup />}
    </>
  );
}
