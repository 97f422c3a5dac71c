// The installable web till (/till): a cashier pairs this browser as a point of sale with the
// point's pairing code, then takes payments by card number or one-time QR code (balance, debit,
// acknowledgement). Without the network, payments are checked against the kept oppositions and
// QR keys, queued in IndexedDB and sent as one signed batch when the network is back, with the
// service's answer for each. Its own service worker (public/till-sw.js, scope /till) and manifest
// (public/till.webmanifest) make it work offline and installable without touching the rest.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ErrorSummary, LiveMessage, SubmitButton, TextField, errorFor, useSubmission } from '../components/form';
import { useI18n, isMessageKey, type Translate } from '../i18n';
import type { Localised } from '../problems';
import {
  TillOffline, TillRefusal, checkClock, loadDevice, loadOutcomes, loadQueue, oppositionsCount, pair, pay, payerOf,
  refreshFeeds, sendQueue, unpair, type Clock, type Device, type Outcome,
} from '../till/device';
import { parseEuros } from './message_preferences';

const euro = (cents: number, lang: string) =>
  new Intl.NumberFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', { style: 'currency', currency: 'EUR' }).format(cents / 100);

/** A refusal code in words (the server's codes are stable; unknown ones are shown as such). */
export function reasonText(t: Translate, code: string): string {
  const key = `till.reason.${code}`;
  return isMessageKey(key) ? t(key) : t('till.reason.other', { code });
}

/** Adds the till's manifest and registers its service worker (scope /till only). */
function useInstallable() {
  useEffect(() => {
    const link = document.createElement('link');
    link.rel = 'manifest';
    link.href = '/till.webmanifest';
    const general = document.querySelector<HTMLLinkElement>('link[rel="manifest"]');
    general?.remove();
    document.head.appendChild(link);
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register('/till-sw.js', { scope: '/till' }).catch(() => {
        // Without a service worker the till still works online.
      });
    }
    return () => {
      link.remove();
      if (general) document.head.appendChild(general);
    };
  }, []);
}

function useOnline(): boolean {
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const on = () => setOnline(true);
    const off = () => setOnline(false);
    addEventListener('online', on);
    addEventListener('offline', off);
    return () => {
      removeEventListener('online', on);
      removeEventListener('offline', off);
    };
  }, []);
  return online;
}

function PairForm({ onPaired }: { onPaired: (device: Device) => void }) {
  const { t } = useI18n();
  const form = useSubmission();
  const [code, setCode] = useState('');
  const onSubmit = async (event: Event) => {
    event.preventDefault();
    if (form.busy) return;
    if (!code.trim()) return form.fail([{ field: 'till-code', text: t('till.pair.code.missing') }]);
    form.setBusy(true);
    try {
      const device = await pair(code);
      form.clear();
      onPaired(device);
    } catch (error) {
      if (error instanceof TillRefusal) form.fail([{ field: 'till-code', text: reasonText(t, error.code) }]);
      else if (error instanceof TillOffline) form.fail([{ text: t('problem.network') }]);
      else form.fail([{ text: t('till.pair.unsupported') }]);
    } finally {
      form.setBusy(false);
    }
  };
  return (
    <section aria-labelledby="till-pair-title" class="narrow">
      <h2 id="till-pair-title">{t('till.pair.title')}</h2>
      <p>{t('till.pair.lead')}</p>
      <ErrorSummary errors={form.errors} attempt={form.attempt} />
      <form class="form" noValidate onSubmit={onSubmit} aria-busy={form.busy}>
        <TextField id="till-code" label={t('till.pair.code')} hint={t('till.pair.code.hint')} autocomplete="off"
          spellcheck={false} value={code} onInput={setCode} error={errorFor(form.errors, 'till-code')} />
        <SubmitButton busy={form.busy}>{t('till.pair.submit')}</SubmitButton>
      </form>
    </section>
  );
}

function OutcomeList({ outcomes }: { outcomes: Outcome[] }) {
  const { t } = useI18n();
  if (outcomes.length === 0) return null;
  return (
    <>
      <h3>{t('till.outcomes.title')}</h3>
      <ul class="till-outcomes">
        {outcomes.map((o) => (
          <li key={o.seq} data-state={o.state}>
            {o.state === 'applied'
              ? t('till.outcome.applied', { seq: o.seq })
              : o.state === 'waiting'
                ? t('till.outcome.waiting', { seq: o.seq, reason: reasonText(t, o.code ?? '') })
                : o.state === 'refused'
                  ? t('till.outcome.refused', { seq: o.seq, reason: reasonText(t, o.code ?? '') })
                  : t('till.outcome.other', { seq: o.seq, state: o.state })}
          </li>
        ))}
      </ul>
    </>
  );
}

function Register({ device, onUnpaired }: { device: Device; onUnpaired: () => void }) {
  const { t, lang } = useI18n();
  const online = useOnline();
  const form = useSubmission();
  const [payer, setPayer] = useState('');
  const [amount, setAmount] = useState('');
  const [clock, setClock] = useState<Clock | null>(null);
  const [queued, setQueued] = useState(0);
  const [opposed, setOpposed] = useState(0);
  const [outcomes, setOutcomes] = useState<Outcome[]>([]);
  const [result, setResult] = useState<Localised | null>(null);
  const [sending, setSending] = useState(false);
  const syncing = useRef(false);

  const refreshCounts = useCallback(async () => {
    setQueued((await loadQueue()).length);
    setOpposed(await oppositionsCount());
  }, []);

  /** Back online (or at start): clock, then the queue as one batch, then the feeds. */
  const synchronise = useCallback(async () => {
    if (syncing.current) return;
    syncing.current = true;
    setSending(true);
    try {
      setClock(await checkClock(device));
      const report = await sendQueue(device);
      if (report.sent > 0) {
        setOutcomes(report.outcomes);
        setResult({ text: t('till.send.done', { count: report.sent }) });
      }
      await refreshFeeds(device);
    } catch (error) {
      if (error instanceof TillRefusal) setResult({ text: t('till.refused', { reason: reasonText(t, error.code) }) });
      // Offline: the next "online" event tries again.
    } finally {
      syncing.current = false;
      setSending(false);
      await refreshCounts();
    }
  }, [device, t, refreshCounts]);

  useEffect(() => {
    void loadOutcomes().then((list) => setOutcomes(list.slice(0, 10)));
    void refreshCounts();
  }, []);
  useEffect(() => {
    if (online) void synchronise();
  }, [online]);

  const onPay = async (event: Event) => {
    event.preventDefault();
    if (form.busy) return;
    setResult(null);
    const cents = parseEuros(amount);
    const errors = [];
    if (!payer.trim()) errors.push({ field: 'till-payer', text: t('till.pay.payer.missing') });
    if (cents === null || Number.isNaN(cents) || cents <= 0) errors.push({ field: 'till-amount', text: t('till.pay.amount.invalid') });
    if (errors.length > 0) return form.fail(errors);
    form.setBusy(true);
    form.clear();
    try {
      const paid = await pay(device, payerOf(payer), cents as number, !navigator.onLine);
      const shown = euro(cents as number, lang);
      if (paid.mode === 'offline') setResult({ text: t('till.paid.offline', { amount: shown, seq: paid.seq }) });
      else if (paid.availableAfter !== null) setResult({ text: t('till.paid.balance', { amount: shown, balance: euro(paid.availableAfter, lang) }) });
      else setResult({ text: t('till.paid', { amount: shown }) });
      setPayer('');
      setAmount('');
    } catch (error) {
      if (error instanceof TillRefusal) form.fail([{ text: t('till.refused', { reason: reasonText(t, error.code) }) }]);
      else form.fail([{ text: t('problem.network') }]);
    } finally {
      form.setBusy(false);
      await refreshCounts();
    }
  };

  const drift = clock ? Math.round(Math.abs(clock.offset_ms) / 1000) : null;
  return (
    <>
      <section aria-labelledby="till-status-title" class="till-status">
        <h2 id="till-status-title">{t('till.status.title')}</h2>
        <p>{t('till.device', { id: device.deviceId })}</p>
        <p class={online ? 'notice notice--success' : 'notice'} data-online={online ? 'yes' : 'no'}>
          {online ? t('till.online') : t('till.offline')}
        </p>
        <p>
          {clock === null || drift === null
            ? t('till.clock.unknown')
            : Math.abs(clock.offset_ms) <= clock.drift_max_ms
              ? t('till.clock.ok', { seconds: drift })
              : t('till.clock.off', { seconds: drift })}
        </p>
        <p>{t('till.oppositions', { count: opposed })}</p>
      </section>
      <section aria-labelledby="till-pay-title" class="narrow">
        <h2 id="till-pay-title">{t('till.pay.title')}</h2>
        <ErrorSummary errors={form.errors} attempt={form.attempt} />
        <form class="form" noValidate onSubmit={onPay} aria-busy={form.busy}>
          <TextField id="till-payer" label={t('till.pay.payer')} hint={t('till.pay.payer.hint')} autocomplete="off"
            spellcheck={false} value={payer} onInput={setPayer} error={errorFor(form.errors, 'till-payer')} />
          <TextField id="till-amount" label={t('till.pay.amount')} hint={t('till.pay.amount.hint')} autocomplete="off"
            inputMode="text" value={amount} onInput={setAmount} error={errorFor(form.errors, 'till-amount')} />
          <SubmitButton busy={form.busy}>{t('till.pay.submit')}</SubmitButton>
        </form>
        <LiveMessage message={result} />
      </section>
      <section aria-labelledby="till-send-title">
        <h2 id="till-send-title">{t('till.send.title')}</h2>
        <p data-queued={queued}>{queued > 0 ? t('till.queue.count', { count: queued }) : t('till.queue.empty')}</p>
        {queued > 0 && online && (
          <button type="button" class="button button--secondary" aria-disabled={sending} onClick={() => void synchronise()}>
            {t('till.send.submit')}
          </button>
        )}
        <OutcomeList outcomes={outcomes} />
      </section>
      <p>
        <button type="button" class="button button--danger button--small" onClick={async () => {
          if (!confirm(t('till.unpair.confirm'))) return;
          await unpair();
          onUnpaired();
        }}>
          {t('till.unpair')}
        </button>
      </p>
    </>
  );
}

export function TillPage() {
  const { t } = useI18n();
  useInstallable();
  const [device, setDevice] = useState<Device | null | undefined>(undefined);
  useEffect(() => {
    loadDevice().then((d) => setDevice(d ?? null), () => setDevice(null));
  }, []);
  return (
    <>
      <h1 tabIndex={-1}>{t('till.title')}</h1>
      <p class="lead">{t('till.lead')}</p>
      {device === undefined ? (
        <p role="status">{t('common.loading')}</p>
      ) : device === null ? (
        <PairForm onPaired={setDevice} />
      ) : (
        <Register device={device} onUnpaired={() => setDevice(null)} />
      )}
    </>
  );
}
