import { useI18n } from '../i18n';
import { Link } from '../router';

export function NotFoundPage({ path }: { path: string }) {
  const { t } = useI18n();
  return (
    <>
      <h1 tabIndex={-1}>{t('notfound.title')}</h1>
      <p>{t('notfound.body', { path })}</p>
      <p>
        <Link href="/">{t('notfound.home')}</Link>
      </p>
    </>
  );
}
