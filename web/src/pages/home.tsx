import { StatusPanel } from '../components/status_panel';
import { useI18n } from '../i18n';
import { Link } from '../router';
import { services } from '../services';

export function HomePage() {
  const { t } = useI18n();
  return (
    <>
      <div class="hero">
        <h1 tabIndex={-1}>{t('home.title')}</h1>
        <p class="lead">{t('home.lead')}</p>
      </div>
      <section aria-labelledby="services-title">
        <h2 id="services-title">{t('home.services')}</h2>
        <ul class="cards">
          {services.map((service) => (
            <li key={service.id} class={`card card--${service.id}`}>
              <h3 class="card__title">
                <Link href={service.path}>{t(service.name)}</Link>
              </h3>
              <p>{t(service.summary)}</p>
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="status-title">
        <h2 id="status-title">{t('status.title')}</h2>
        <StatusPanel headingLevel={3} />
      </section>
    </>
  );
}
