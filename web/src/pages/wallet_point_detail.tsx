// One point of sale: its attributes and state, what the reader may do with it (approve → the
// device's pairing code, shown once; a new pairing when the device is swapped; opposition and
// reactivation with a reason), its history, and its transactions with the admins' cancellation.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorSummary, LiveMessage, Text, errorFor, useSubmission } from '../components/form';
import { problemOf } from '../api';
import { useI18n, type Translate } from '../i18n';
import { named } from '../labels';
import {
  approvePoint, cancelPosTransaction, formatDateTime, formatEuros, getMerchant, getPoint, listPointTransactions,
  opposePoint, posLimits, posRight, reactivatePoint, replacePointDevice, type Merchant, type Pairing,
  type PointDetail, type PointEvent, type PosTransaction,
} from '../pos';
import { problemMessage, type Localised } from '../problems';
import { Link } from '../router';
import { useSession } from '../session';
import { useLoad } from '../use_load';
import { svgDataUri } from './enrol_second_factor';
import { PointStateBadge, permissionName, pointTypeName } from './wallet_points';
import { PointOfflineReport } from './wallet_offline';
import { PointReconciliations } from './wallet_reconciliations';

/** A refusal code of a point operation in words (docs/pos-protocol.md, section 10). */
export const refusalName = (t: Translate, code: string) => named(t, 'pos.refusal', code);

/** The pairing code, shown once: the server never shows it again. */
function PairingNotice({ pairing }: { pairing: Pairing }) {
  const { t, lang } = useI18n();
  const [copied, setCopied] = useState<Localised | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [pairing.code]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(pairing.code);
      setCopied({ text: t('pos.pairing.copied') });
    } catch {
      setCopied({ text: t('pos.pairing.copy_failed') });
    }
  };
  return (
    <section class="notice notice--success" aria-labelledby="pairing-title" data-testid="pairing">
      <h2 id="pairing-title" class="notice__title" tabIndex={-1} ref={heading}>
        {t('pos.pairing.title')}
      </h2>
      <p>{t('pos.pairing.once')}</p>
      <p>
        <code class="pairing-code" data-testid="pairing-code">
          {pairing.code}
        </code>{' '}
        <button type="button" class="button button--secondary button--small" onClick={() => void copy()}>
          {t('pos.pairing.copy')}
        </button>
      </p>
      <p>{t('pos.pairing.expires', { at: formatDateTime(pairing.expires_at, lang) })}</p>
      {pairing.qr_svg && (
        <img class="qr-code" src={svgDataUri(pairing.qr_svg)} alt={t('pos.pairing.qr.alt')} width={160} height={160} />
      )}
      <LiveMessage message={copied} tone="info" />
    </section>
  );
}

interface ReasonDialogProps {
  title: string;
  body: string;
  confirmLabel: string;
  danger?: boolean;
  /** Runs the action; a problem it throws is shown in the dialog. */
  onConfirm: (reason: string) => Promise<void>;
  onClose: () => void;
}

/** A modal dialog that asks for the reason of an action (native <dialog>: focus kept inside). */
function ReasonDialog({ title, body, confirmLabel, danger, onConfirm, onClose }: ReasonDialogProps) {
  const { t } = useI18n();
  const dialog = useRef<HTMLDialogElement>(null);
  const field = useRef<HTMLTextAreaElement>(null);
  const [reason, setReason] = useState('');
  const submission = useSubmission();

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    element.showModal();
    field.current?.focus();
    return () => element.close();
  }, []);

  const confirm = async (event: Event) => {
    event.preventDefault();
    if (submission.busy) return;
    const text = reason.trim();
    if (!text || text.length > posLimits.reasonLengthMax) {
      submission.fail([{ field: 'reason', text: t(text ? 'pos.reason.long' : 'pos.reason.missing') }]);
      return;
    }
    submission.setBusy(true);
    try {
      await onConfirm(text);
      dialog.current?.close();
    } catch (error) {
      submission.fail([problemMessage(problemOf(error), t)]);
      submission.setBusy(false);
    }
  };

  const error = errorFor(submission.errors, 'reason');
  return (
    <dialog ref={dialog} class="dialog" aria-labelledby="reason-title" aria-describedby="reason-body" onClose={onClose}>
      <form noValidate onSubmit={confirm}>
        <h2 id="reason-title" class="dialog__title">
          {title}
        </h2>
        <p id="reason-body">{body}</p>
        <ErrorSummary errors={submission.errors} attempt={submission.attempt} />
        <div class={`field${error ? ' field--error' : ''}`}>
          <label class="field__label" for="reason">
            {t('pos.reason.label')}
          </label>
          {error && (
            <p class="field__error" id="reason-error">
              <Text value={error} />
            </p>
          )}
          <textarea
            id="reason"
            class="input"
            rows={3}
            ref={field}
            value={reason}
            required
            maxLength={posLimits.reasonLengthMax}
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={error ? 'reason-error' : undefined}
            onInput={(event) => setReason(event.currentTarget.value)}
          />
        </div>
        <p class="button-row">
          <button type="submit" class={`button ${danger ? 'button--danger' : 'button--primary'}`} aria-disabled={submission.busy}>
            {confirmLabel}
          </button>
          <button type="button" class="button button--secondary" onClick={() => dialog.current?.close()}>
            {t('common.cancel')}
          </button>
        </p>
      </form>
    </dialog>
  );
}

type Action = 'swap' | 'oppose' | 'reactivate' | { cancel: PosTransaction };

/** The confirmation dialog of an action, with its words. */
function ActionDialog({ action, onConfirm, onClose }: {
  action: Action;
  onConfirm: (reason: string) => Promise<void>;
  onClose: () => void;
}) {
  const { t, lang } = useI18n();
  const common = { onConfirm, onClose };
  if (action === 'swap') {
    return <ReasonDialog {...common} title={t('pos.swap.title')} body={t('pos.swap.body')}
      confirmLabel={t('pos.swap.confirm')} />;
  }
  if (action === 'oppose') {
    return <ReasonDialog {...common} danger title={t('pos.oppose.title')} body={t('pos.oppose.body')}
      confirmLabel={t('pos.oppose.confirm')} />;
  }
  if (action === 'reactivate') {
    return <ReasonDialog {...common} title={t('pos.reactivate.title')} body={t('pos.reactivate.body')}
      confirmLabel={t('pos.reactivate.confirm')} />;
  }
  return (
    <ReasonDialog {...common} danger
      title={t('pos.cancel.title', { amount: formatEuros(action.cancel.amount, lang) })}
      body={t('pos.cancel.body')} confirmLabel={t('pos.cancel.confirm')} />
  );
}

function Detail({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function PointAttributes({ point, merchant }: { point: PointDetail; merchant: Merchant | undefined }) {
  const { t } = useI18n();
  return (
    <dl class="details">
      <Detail label={t('pos.point.field.merchant')}>
        {merchant ? <Link href={`/wallet/merchants/${merchant.id}`}>{merchant.name}</Link> : `#${point.merchant_id}`}
      </Detail>
      <Detail label={t('pos.point.field.id')}>{point.id}</Detail>
      <Detail label={t('pos.point.field.institution_id')}>{point.institution_id}</Detail>
      <Detail label={t('pos.point.field.location')}>{point.location}</Detail>
      <Detail label={t('pos.point.field.address')}>{point.address}</Detail>
      <Detail label={t('pos.point.field.type')}>{pointTypeName(t, point.type)}</Detail>
      <Detail label={t('pos.point.field.permissions')}>
        {point.permissions.length === 0
          ? t('pos.point.permissions.none')
          : point.permissions.map((permission) => permissionName(t, permission)).join(', ')}
      </Detail>
      <Detail label={t('pos.point.field.device')}>
        {point.paired ? t('pos.point.device.paired', { id: point.device_id ?? '' }) : t('pos.point.device.none')}
      </Detail>
    </dl>
  );
}

/** The point's events, newest first, with who acted and why. */
function PointHistory({ events }: { events: PointEvent[] }) {
  const { t, lang } = useI18n();
  return (
    <>
      <h2 id="point-history-title">{t('pos.point.history')}</h2>
      <ol class="timeline" aria-labelledby="point-history-title" data-testid="point-history">
        {events.map((event) => (
          <li key={event.id} class="timeline__entry">
            <h3 class="timeline__action">{named(t, 'pos.event', event.event)}</h3>
            <p class="timeline__meta">
              <time dateTime={event.at}>{formatDateTime(event.at, lang)}</time>
              {' — '}
              {named(t, 'pos.actor', event.actor_type)}
              {event.actor_id !== undefined ? ` #${event.actor_id}` : ''}
            </p>
            {event.reason && <p>{t('pos.event.reason', { reason: event.reason })}</p>}
          </li>
        ))}
      </ol>
    </>
  );
}

/** The point's transactions; `onCancel` (admins) offers to cancel acknowledged debits. */
function TransactionsTable({ transactions, onCancel }: {
  transactions: PosTransaction[];
  onCancel: ((txn: PosTransaction) => void) | null;
}) {
  const { t, lang } = useI18n();
  const amountOf = (txn: PosTransaction) =>
    txn.counter === 'EUR' ? formatEuros(txn.amount, lang) : `${txn.amount} ${txn.counter}`;
  return (
    <div class="table-wrap">
      <table class="table table--stacked" data-testid="point-transactions">
        <caption class="visually-hidden">{t('pos.point.transactions')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('pos.txn.when')}</th>
            <th scope="col">{t('pos.txn.operation')}</th>
            <th scope="col">{t('pos.txn.amount')}</th>
            <th scope="col">{t('pos.txn.state')}</th>
            <th scope="col">{t('pos.txn.offline')}</th>
            <th scope="col">{t('pos.txn.refusal')}</th>
            {onCancel && <th scope="col">{t('pos.txn.actions')}</th>}
          </tr>
        </thead>
        <tbody>
          {transactions.map((txn) => (
            <tr key={txn.id}>
              <th scope="row">
                <time dateTime={new Date(txn.point_at_ms).toISOString()}>{formatDateTime(txn.point_at_ms, lang)}</time>
                <span class="visually-hidden"> — {txn.point_txn_id}</span>
              </th>
              <td data-label={t('pos.txn.operation')}>{named(t, 'pos.operation', txn.operation)}</td>
              <td data-label={t('pos.txn.amount')}>{amountOf(txn)}</td>
              <td data-label={t('pos.txn.state')}>{named(t, 'pos.txn.state', txn.state)}</td>
              <td data-label={t('pos.txn.offline')}>{t(txn.offline ? 'common.yes' : 'common.no')}</td>
              <td data-label={t('pos.txn.refusal')}>{txn.refusal_code ? refusalName(t, txn.refusal_code) : '—'}</td>
              {onCancel && (
                <td data-label={t('pos.txn.actions')}>
                  {txn.operation === 'debit' && txn.state === 'acknowledged' && (
                    <button type="button" class="button button--secondary button--small" onClick={() => onCancel(txn)}>
                      {t('pos.txn.cancel')}
                      <span class="visually-hidden"> {txn.point_txn_id}</span>
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

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

function PointNotFound() {
  const { t } = useI18n();
  return (
    <>
      <h1 tabIndex={-1}>{t('pos.point.not_found')}</h1>
      <p>{t('pos.point.not_found.body')}</p>
      <p>
        <Link href="/wallet/points">{t('pos.points.back')}</Link>
      </p>
    </>
  );
}

/** Carries out an action confirmed with its reason; answers the message that says it is done. */
async function perform(action: Action, pointId: number, reason: string, t: Translate) {
  if (action === 'swap') {
    const answer = await replacePointDevice(pointId, reason);
    return { message: t('pos.point.swapped'), pairing: answer.pairing };
  }
  if (action === 'oppose') {
    await opposePoint(pointId, reason);
    return { message: t('pos.point.opposed'), pairing: null };
  }
  if (action === 'reactivate') {
    await reactivatePoint(pointId, reason);
    return { message: t('pos.point.reactivated') };
  }
  await cancelPosTransaction(action.cancel.id, reason);
  return { message: t('pos.txn.cancelled', { id: action.cancel.point_txn_id }) };
}

export function PointDetailPage({ id }: { id: string }) {
  const { t } = useI18n();
  const { permissions } = useSession();
  const valid = /^\d+$/.test(id);
  const point = useLoad(valid ? (signal) => getPoint(Number(id), signal) : null, [id]);
  const transactions = useLoad(valid ? (signal) => listPointTransactions(Number(id), signal) : null, [id]);
  const merchantId = point.value?.merchant_id;
  const merchant = useLoad(merchantId ? (signal) => getMerchant(merchantId, signal) : null, [merchantId]);
  const [pairing, setPairing] = useState<Pairing | null>(null);
  const [action, setAction] = useState<Action | null>(null);
  const [message, setMessage] = useState<Localised | null>(null);
  const [problem, setProblem] = useState<Localised | null>(null);
  const [busy, setBusy] = useState(false);
  // After an action its button may be gone (oppose → reactivate): the focus goes to the actions.
  const actionsHeading = useRef<HTMLHeadingElement>(null);
  const transactionsHeading = useRef<HTMLHeadingElement>(null);

  if (!valid || point.problem?.status === 404) return <PointNotFound />;
  const value = point.value;
  const canApprove = permissions.has(posRight.pointsApprove);
  const canOppose = permissions.has(posRight.pointsOppose);

  const approve = async () => {
    if (busy || !value) return;
    setBusy(true);
    setProblem(null);
    try {
      setPairing((await approvePoint(value.id)).pairing);
      setMessage({ text: t('pos.point.approved') });
      point.reload();
    } catch (error) {
      setProblem(problemMessage(problemOf(error), t));
    } finally {
      setBusy(false);
    }
  };

  const confirm = async (reason: string) => {
    if (!value || !action) return;
    const done = await perform(action, value.id, reason, t);
    if (done.pairing !== undefined) setPairing(done.pairing);
    setMessage({ text: done.message });
    point.reload();
    if (typeof action === 'object') transactions.reload();
    const heading = typeof action === 'object' ? transactionsHeading : actionsHeading;
    requestAnimationFrame(() => heading.current?.focus());
  };

  return (
    <>
      <h1 tabIndex={-1}>
        {value ? t('pos.point.detail.named', { location: value.location }) : t('pos.point.detail.title')}
      </h1>
      <p>
        <Link href="/wallet/points">{t('pos.points.back')}</Link>
      </p>
      <LiveMessage message={message} />
      <ProblemNotice value={problem} />
      {pairing && <PairingNotice pairing={pairing} />}
      <ProblemNotice value={point.problem ? problemMessage(point.problem, t) : null} />
      {!value && !point.problem && <p role="status">{t('common.loading')}</p>}
      {value && (
        <>
          <p>
            <PointStateBadge state={value.state} /> {value.is_test && <span class="badge">{t('pos.point.test')}</span>}
          </p>
          <PointAttributes point={value} merchant={merchant.value} />
          <h2 tabIndex={-1} ref={actionsHeading}>
            {t('pos.point.actions')}
          </h2>
          <p class="button-row">
            {canApprove && value.state === 'pending' && (
              <button type="button" class="button button--primary" aria-disabled={busy} onClick={() => void approve()}>
                {t('pos.point.approve')}
              </button>
            )}
            {canApprove && value.state === 'approved' && (
              <button type="button" class="button button--secondary" onClick={() => setAction('swap')}>
                {t('pos.point.swap')}
              </button>
            )}
            {canOppose && value.state !== 'opposed' && (
              <button type="button" class="button button--danger" onClick={() => setAction('oppose')}>
                {t('pos.point.oppose')}
              </button>
            )}
            {canApprove && value.state === 'opposed' && (
              <button type="button" class="button button--primary" onClick={() => setAction('reactivate')}>
                {t('pos.point.reactivate')}
              </button>
            )}
          </p>
          {value.state === 'opposed' && !canApprove && <p>{t('pos.point.reactivate.admins')}</p>}
          <PointHistory events={value.events} />
        </>
      )}

      <h2 tabIndex={-1} ref={transactionsHeading}>
        {t('pos.point.transactions')}
      </h2>
      <ProblemNotice value={transactions.problem ? problemMessage(transactions.problem, t) : null} />
      <p role="status" class="result-count">
        {transactions.value ? t('pos.txn.count', { count: transactions.value.length }) : t('common.loading')}
      </p>
      {transactions.value && transactions.value.length > 0 && (
        <TransactionsTable
          transactions={transactions.value}
          onCancel={canApprove ? (txn) => setAction({ cancel: txn }) : null}
        />
      )}
      {value && (
        <>
          <PointReconciliations pointId={value.id} />
          <PointOfflineReport pointId={value.id} />
        </>
      )}
      {action && <ActionDialog action={action} onConfirm={confirm} onClose={() => setAction(null)} />}
    </>
  );
}
