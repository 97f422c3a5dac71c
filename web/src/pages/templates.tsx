// Message templates of an organisation, per code and language: the one in force (built in,
// inherited from above, or the organisation's own), each opening the editor.
import { useEffect, useState } from 'preact/hooks';
import { SelectField, Text } from '../components/form';
import { useI18n } from '../i18n';
import { getOrganisations } from '../identity';
import { baseDepth, languageName, named, organisationOption } from '../labels';
import { listTemplates } from '../notify_content';
import { problemMessage } from '../problems';
import { Link, navigate, useLocation } from '../router';
import { useLoad } from '../use_load';

export function TemplatesPage() {
  const { t } = useI18n();
  const { query } = useLocation();
  const organisations = useLoad(getOrganisations, []);
  const list = organisations.value ?? [];
  const chosen = /^\d+$/.test(query.get('organisation') ?? '') ? Number(query.get('organisation')) : list[0]?.id ?? 0;
  const [choice, setChoice] = useState(String(chosen || ''));
  useEffect(() => setChoice(chosen ? String(chosen) : ''), [chosen]);
  const templates = useLoad(chosen ? (signal) => listTemplates(chosen, signal) : null, [chosen]);
  const depth = baseDepth(list);
  const items = templates.value ?? [];

  return (
    <>
      <h1 tabIndex={-1}>{t('templates.title')}</h1>
      <p class="lead">{t('templates.lead')}</p>
      {list.length > 0 && (
        <form
          class="filter-bar"
          role="search"
          aria-label={t('templates.filter')}
          onSubmit={(event) => {
            event.preventDefault();
            if (choice) navigate(`/messages/templates?organisation=${choice}`, { replace: true });
          }}
        >
          <SelectField
            id="templates-organisation"
            label={t('templates.organisation')}
            value={choice}
            onChange={setChoice}
            options={list.map((organisation) => organisationOption(t, organisation, depth))}
          />
          <button type="submit" class="button button--secondary">
            {t('templates.show')}
          </button>
        </form>
      )}
      {templates.problem && (
        <div class="notice notice--error" role="alert">
          <p>
            <Text value={problemMessage(templates.problem, t)} />
          </p>
        </div>
      )}
      <p role="status" class="result-count">
        {templates.value ? t('templates.count', { count: items.length }) : t('common.loading')}
      </p>
      {items.length > 0 && (
        <div class="table-wrap">
          <table class="table table--stacked">
            <caption class="visually-hidden">{t('templates.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('templates.code')}</th>
                <th scope="col">{t('templates.language')}</th>
                <th scope="col">{t('templates.source')}</th>
                <th scope="col">{t('templates.subject')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr key={`${item.code}-${item.language}`}>
                  <th scope="row">
                    <Link href={`/messages/templates/${chosen}/${encodeURIComponent(item.code)}/${item.language}`}>
                      {item.code}
                      <span class="visually-hidden"> ({languageName(item.language)})</span>
                    </Link>
                  </th>
                  <td data-label={t('templates.language')}>{languageName(item.language)}</td>
                  <td data-label={t('templates.source')}>{named(t, 'templates.source', item.source)}</td>
                  <td data-label={t('templates.subject')} lang={item.language}>
                    {item.subject}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
