// The offline mode (W16) in the back office: on a point's page, what its device uploaded offline
// (events by state, the latest batches, the payments waiting for the holder's funds); on a
// merchant's page, its payments awaiting funds. The latest refused offline events are listed
// with their refusal code in words (the device got the same code in its batch answer).
import { Text } from '../components/form';
import { isMessageKey, useI18n, type MessageKey, type Translate } from '../i18n';
import { named } from '../labels';
import { formatEuros, type Merchant } from '../pos';
import type { Localised } from '../problems';
import { Link } from '../router';
import {
  formatParis, getPointOfflineReport, listAwaitingFunds, refusedListMax, type AwaitingPayment, type RefusedEvent,
} from '../settlement';
import { useLoad } from '../use_load';
import { settlementProblem } from './wallet_settlements';

const eventStates = ['received', 'applied', 'refused', 'waiting', 'abandoned'] as const;

function ProblemNotice({ value }: { value: Localised | null }) {
  if (!value) return null;
  return (
    <div class="notice notice--error" role="alert">
      <p>
        <Text value={value} />
      </p>
    </div>
  );
}

const amountOf = (payment: { counter: string; amount: number }, lang: 'fr' | 'en') =>
  payment.counter === 'EUR' ? formatEuros(payment.amount, lang) : `${payment.amount} ${payment.counter}`;

function AwaitingTable({ payments, withPoint, testId }: { payments: AwaitingPayment[]; withPoint: boolean; testId: string }) {
  const { t, lang } = useI18n();
  return (
    <div class="table-wrap">
      <table class="table table--stacked" data-testid={testId}>
        <caption class="visually-hidden">{t('offline.awaiting.title')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('offline.field.sale')}</th>
            {withPoint && <th scope="col">{t('offline.field.point')}</th>}
            <th scope="col" class="num">{t('pos.txn.amount')}</th>
            <th scope="col">{t('offline.field.support')}</th>
            <th scope="col">{t('offline.field.attempts')}</th>
            <th scope="col">{t('offline.field.next_try')}</th>
          </tr>
        </thead>
        <tbody>
          {payments.map((payment) => (
            <tr key={payment.event_id}>
              <th scope="row">
                <time dateTime={new Date(payment.at_ms).toISOString()}>{formatParis(payment.at_ms, lang)}</time>
                <span class="txn-id"> — {payment.point_txn_id}</span>
              </th>
              {withPoint && (
                <td data-label={t('offline.field.point')}>
                  {payment.point_id ? (
                    <Link href={`/wallet/points/${payment.point_id}`}>{payment.point_location ?? `#${payment.point_id}`}</Link>
                  ) : '—'}
                </td>
              )}
              <td class="num" data-label={t('pos.txn.amount')}>{amountOf(payment, lang)}</td>
              <td data-label={t('offline.field.support')}>
                {payment.support_number ?? t('offline.support.qr', { holder: payment.holder_id })}
              </td>
              <td data-label={t('offline.field.attempts')}>{payment.attempts}</td>
              <td data-label={t('offline.field.next_try')}>
                {payment.next_try_at_ms ? formatParis(payment.next_try_at_ms, lang) : t('offline.next_try.reload')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A refusal code in words: the till's refusals, then sync's own, else the code itself. */
export const offlineRefusalName = (t: Translate, code: string) => {
  const key = `pos.refusal.${code}`;
  return isMessageKey(key) ? t(key as MessageKey) : named(t, 'offline.refusal', code);
};

function RefusedTable({ events }: { events: RefusedEvent[] }) {
  const { t, lang } = useI18n();
  return (
    <div class="table-wrap">
      <table class="table table--stacked" data-testid="offline-refused">
        <caption class="visually-hidden">{t('offline.refused.title')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('offline.field.operation')}</th>
            <th scope="col">{t('offline.field.kind')}</th>
            <th scope="col">{t('offline.field.reason')}</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <tr key={event.event_id}>
              <th scope="row">
                {t('offline.refused.seq', { seq: event.seq })}{' '}
                <time dateTime={new Date(event.at_ms).toISOString()}>{formatParis(event.at_ms, lang)}</time>
              </th>
              <td data-label={t('offline.field.kind')}>{named(t, 'offline.kind', event.kind)}</td>
              <td data-label={t('offline.field.reason')}>
                {offlineRefusalName(t, event.code)} <span class="txn-id">({event.code})</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The offline report of a point (anyone who may read the point). */
export function PointOfflineReport({ pointId }: { pointId: number }) {
  const { t, lang } = useI18n();
  const report = useLoad((signal) => getPointOfflineReport(pointId, signal), [pointId]);
  const value = report.value;
  return (
    <section class="wallet-section" aria-labelledby="point-offline-title" data-testid="point-offline">
      <h2 id="point-offline-title">{t('offline.point.title')}</h2>
      <p>{t('offline.point.lead')}</p>
      <ProblemNotice value={report.problem ? settlementProblem(report.problem, t) : null} />
      {value && value.device_id === undefined && <p>{t('offline.point.no_device')}</p>}
      {value && value.device_id !== undefined && (
        <>
          <p>{t('offline.point.device', { id: value.device_id, seq: value.last_seq ?? 0 })}</p>
          <h3>{t('offline.states.title')}</h3>
          <dl class="details" data-testid="offline-states">
            {eventStates.map((state) => (
              <div key={state}>
                <dt>{named(t, 'offline.state', state)}</dt>
                <dd data-testid={`offline-state-${state}`}>{value.events_by_state[state] ?? 0}</dd>
              </div>
            ))}
          </dl>
          <h3>{t('offline.batches.title')}</h3>
          {value.batches.length === 0 ? (
            <p>{t('offline.batches.none')}</p>
          ) : (
            <div class="table-wrap">
              <table class="table table--stacked" data-testid="offline-batches">
                <caption class="visually-hidden">{t('offline.batches.title')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('offline.field.batch')}</th>
                    <th scope="col">{t('offline.field.events')}</th>
                    <th scope="col">{t('offline.field.received')}</th>
                  </tr>
                </thead>
                <tbody>
                  {value.batches.map((batch) => (
                    <tr key={batch.batch_id}>
                      <th scope="row">{batch.batch_id}</th>
                      <td data-label={t('offline.field.events')}>
                        {t('offline.batch.seqs', { first: batch.first_seq, last: batch.last_seq,
                          count: batch.last_seq - batch.first_seq + 1 })}
                      </td>
                      <td data-label={t('offline.field.received')}>{formatParis(batch.received_at_ms, lang)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
      {value && (
        <>
          <h3>{t('offline.awaiting.title')}</h3>
          {value.waiting.length === 0 ? (
            <p>{t('offline.awaiting.none')}</p>
          ) : (
            <AwaitingTable payments={value.waiting} withPoint={false} testId="offline-waiting" />
          )}
        </>
      )}
      {value && (
        <>
          <h3>{t('offline.refused.title')}</h3>
          {value.refused.length === 0 ? (
            <p>{t('offline.refused.none')}</p>
          ) : (
            <>
              <p data-testid="offline-refused-note">
                {t('offline.refused.lead', { shown: value.refused.length, max: refusedListMax })}
              </p>
              <RefusedTable events={value.refused} />
            </>
          )}
        </>
      )}
    </section>
  );
}

/** The merchant's offline payments waiting for the holders' funds, oldest first. */
export function MerchantAwaitingFunds({ merchant }: { merchant: Merchant }) {
  const { t } = useI18n();
  const payments = useLoad((signal) => listAwaitingFunds(merchant.id, signal), [merchant.id]);
  return (
    <section class="wallet-section" aria-labelledby="merchant-awaiting-title" data-testid="merchant-awaiting">
      <h2 id="merchant-awaiting-title">{t('offline.awaiting.title')}</h2>
      <p>{t('offline.awaiting.lead')}</p>
      <ProblemNotice value={payments.problem ? settlementProblem(payments.problem, t) : null} />
      <p role="status" class="result-count">
        {payments.value ? t('offline.awaiting.count', { count: payments.value.length }) : ''}
      </p>
      {payments.value && payments.value.length > 0 && (
        <AwaitingTable payments={payments.value} withPoint testId="merchant-awaiting-funds" />
      )}
    </section>
  );
}
