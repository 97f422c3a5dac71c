import { useI18n } from '../i18n';
import { Link } from '../router';
import type { Service } from '../services';

/** Placeholder for each product's own area until its screens land. */
export function ServicePage({ service }: { service: Service }) {
  const { t } = useI18n();
  return (
    <>
      <h1 tabIndex={-1}>{t(service.name)}</h1>
      <p class="lead">{t(service.summary)}</p>
      <p class="notice">{t('service.soon')}</p>
      <p>
        <Link href="/">{t('service.back')}</Link>
      </p>
    </>
  );
}
