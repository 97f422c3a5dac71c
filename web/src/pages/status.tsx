import { StatusPanel } from '../components/status_panel';
import { useI18n } from '../i18n';

export function StatusPage() {
  const { t } = useI18n();
  return (
    <>
      <h1 tabIndex={-1}>{t('status.title')}</h1>
      <StatusPanel headingLevel={2} />
    </>
  );
}
