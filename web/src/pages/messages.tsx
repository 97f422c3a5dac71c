// The messages area for staff: the sections the reader's rights open.
import { useI18n, type MessageKey } from '../i18n';
import { Link } from '../router';
import { useSession } from '../session';

interface Section {
  path: string;
  title: MessageKey;
  summary: MessageKey;
  permission: string;
}

export const messageSections: Section[] = [
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
    </>
  );
}
