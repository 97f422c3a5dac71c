// The holder's statement, like a bank's: each line with its date, what it was, the support or
// mode used, any fee, the amount and the balance after it; older lines page by page.
import { useState } from 'preact/hooks';
import { Text } from '../components/form';
import { useI18n } from '../i18n';
import { problemMessage } from '../problems';
import { useLoad } from '../use_load';
import { formatAmount, getMyStatement, type StatementLine } from '../wallet';
import { HolderOnly } from '../components/holder';

const counterOf = (code: string) =>
  code === 'EUR' ? { kind: 'euro' as const, token_name: '' } : { kind: 'token' as const, token_name: code };

export function StatementTable({ lines, caption }: { lines: StatementLine[]; caption: string }) {
  const { t, lang } = useI18n();
  if (lines.length === 0) return <p>{t('wallet.statement.empty')}</p>;
  const date = new Intl.DateTimeFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', {
    dateStyle: 'short', timeStyle: 'short', timeZone: 'Europe/Paris',
  });
  return (
    <div class="table-wrap">
      <table class="table statement">
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{t('wallet.statement.date')}</th>
            <th scope="col">{t('wallet.statement.label')}</th>
            <th scope="col" class="num">{t('wallet.statement.amount')}</th>
            <th scope="col" class="num">{t('wallet.statement.balance')}</th>
          </tr>
        </thead>
        <tbody>
          {lines.map((line) => {
            const counter = counterOf(line.counter);
            const signed = line.direction === 'debit' ? -line.amount : line.amount;
            return (
              <tr key={line.id} data-line={line.id}>
                <td>{date.format(new Date(line.at_ms))}</td>
                <td>
                  {line.label}
                  {line.support_number && <span class="statement__detail"> · {t('wallet.statement.support', { number: line.support_number })}</span>}
                  {line.fee > 0 && <span class="statement__detail"> · {t('wallet.statement.fee', { fee: formatAmount(line.fee, counter, lang) })}</span>}
                </td>
                <td class="num">{(signed > 0 ? '+' : '') + formatAmount(signed, counter, lang)}</td>
                <td class="num">{formatAmount(line.balance_after, counter, lang)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function Statement() {
  const { t } = useI18n();
  const [before, setBefore] = useState<number[]>([]);  // the pages' starting points, newest first
  const page = useLoad((signal) => getMyStatement({ before: before.at(-1), limit: 20 }, signal), [before.at(-1)]);
  return (
    <>
      {page.problem && (
        <p role="alert">
          <Text value={problemMessage(page.problem, t)} />
        </p>
      )}
      {page.value && <StatementTable lines={page.value.lines} caption={t('wallet.statement.title')} />}
      <p class="button-row">
        {before.length > 0 && (
          <button type="button" class="button button--secondary" onClick={() => setBefore(before.slice(0, -1))}>
            {t('wallet.statement.newer')}
          </button>
        )}
        {page.value?.next_before && (
          <button type="button" class="button button--secondary"
            onClick={() => setBefore([...before, page.value?.next_before ?? 0])}>
            {t('wallet.statement.older')}
          </button>
        )}
      </p>
    </>
  );
}

export function WalletStatementPage() {
  const { t } = useI18n();
  return <HolderOnly title={t('wallet.statement.title')}>{() => <Statement />}</HolderOnly>;
}
