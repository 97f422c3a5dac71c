import { useI18n } from '../i18n';
import { Link } from '../router';

/** A page the person may not see with the profiles they hold. */
export function ForbiddenPage() {
  const { t } = useI18n();
  return (
    <>
      <h1 tabIndex={-1}>{t('forbidden.title')}</h1>
      <p>{t('forbidden.body')}</p>
      <p>
        <Link href="/">{t('notfound.home')}</Link>
      </p>
    </>
  );
}
