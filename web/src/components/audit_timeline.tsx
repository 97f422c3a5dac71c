// The history of a record as a timeline: when, who, what was done, and what changed — field
// by field when the entry holds the record before and after.
import { useI18n, type Lang, type Translate } from '../i18n';
import type { AuditEntry, Profile } from '../identity';
import { languageName, named, profileName, statusName } from '../labels';
import { useSession } from '../session';

type Fields = Record<string, unknown>;

const isFields = (value: unknown): value is Fields =>
  !!value && typeof value === 'object' && !Array.isArray(value);

function formatValue(
  field: string,
  value: unknown,
  t: Translate,
  lang: Lang,
  profiles: Profile[] | null,
): string {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return t(value ? 'common.yes' : 'common.no');
  if (field === 'language' && typeof value === 'string') return languageName(value);
  if (field === 'status' && typeof value === 'string') return statusName(t, value);
  if (field === 'grants' && Array.isArray(value)) {
    if (value.length === 0) return '—';
    return value
      .map((grant) =>
        isFields(grant)
          ? t('audit.grant', {
              profile: profileName(profiles, String(grant.profile ?? ''), lang),
              organisation: String(grant.organisation_name ?? grant.organisation_id ?? ''),
            })
          : JSON.stringify(grant),
      )
      .join(' ; ');
  }
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  return JSON.stringify(value);
}

interface Row {
  field: string;
  before?: unknown;
  after?: unknown;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function Changes({ entry }: { entry: AuditEntry }) {
  const { t, lang } = useI18n();
  const { profiles } = useSession();
  const { before, after } = entry;
  const show = (field: string, value: unknown) => formatValue(field, value, t, lang, profiles);
  const label = (field: string) => named(t, 'audit.field', field);

  if (isFields(before) && isFields(after)) {
    const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    const rows: Row[] = fields
      .filter((field) => !same(before[field], after[field]))
      .map((field) => ({ field, before: before[field], after: after[field] }));
    if (rows.length === 0) return <p class="timeline__none">{t('audit.no_change')}</p>;
    return (
      <table class="table changes">
        <caption class="visually-hidden">{t('audit.changes')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('audit.column.field')}</th>
            <th scope="col">{t('audit.column.before')}</th>
            <th scope="col">{t('audit.column.after')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.field}>
              <th scope="row">{label(row.field)}</th>
              <td data-label={t('audit.column.before')}>
                <del>{show(row.field, row.before)}</del>
              </td>
              <td data-label={t('audit.column.after')}>
                <ins>{show(row.field, row.after)}</ins>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }

  const values = isFields(after) ? after : isFields(before) ? before : null;
  if (values) {
    const caption = isFields(after) ? t('audit.values.after') : t('audit.values.before');
    return (
      <table class="table changes">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{t('audit.column.field')}</th>
            <th scope="col">{t('audit.column.value')}</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(values).map(([field, value]) => (
            <tr key={field}>
              <th scope="row">{label(field)}</th>
              <td data-label={t('audit.column.value')}>{show(field, value)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }

  if (before !== null || after !== null) {
    return (
      <p class="timeline__none">
        {t('audit.column.before')} : {show('', before)} — {t('audit.column.after')} :{' '}
        {show('', after)}
      </p>
    );
  }
  return null;
}

export function AuditTimeline({
  entries,
  actorName,
  headingLevel = 3,
}: {
  entries: AuditEntry[];
  actorName: (id: number) => string | undefined;
  headingLevel?: 3 | 4;
}) {
  const { t, lang } = useI18n();
  const Heading = headingLevel === 3 ? 'h3' : 'h4';
  const when = new Intl.DateTimeFormat(lang, { dateStyle: 'long', timeStyle: 'medium' });
  const actor = (entry: AuditEntry) => {
    if (entry.actor_type === 'system' || entry.actor_id === null) return t('audit.actor.system');
    const name = actorName(entry.actor_id);
    return name
      ? t('audit.actor.named', { name, id: entry.actor_id })
      : t('audit.actor.user', { id: entry.actor_id });
  };
  return (
    <ol class="timeline" data-testid="audit-timeline">
      {entries.map((entry) => (
        <li key={entry.seq} class="timeline__entry">
          <Heading class="timeline__action">{named(t, 'audit.action', entry.action)}</Heading>
          <p class="timeline__meta">
            <time dateTime={entry.at}>{when.format(new Date(entry.at))}</time>
            {' — '}
            {actor(entry)}
          </p>
          {entry.redacted && <p class="timeline__none">{t('audit.redacted')}</p>}
          <Changes entry={entry} />
        </li>
      ))}
    </ol>
  );
}
