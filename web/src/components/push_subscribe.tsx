// Push messages on this device: registers the service worker (public/sw.js), subscribes with
// the deployment's VAPID key and stores the subscription, or removes it.
import { useEffect, useState } from 'preact/hooks';
import { useI18n } from '../i18n';
import { getVapidPublicKey, removePushSubscription, savePushSubscription } from '../notify';
import { problemMessage } from '../problems';
import { problemOf } from '../api';
import { LiveMessage, Text } from './form';
import type { Localised } from '../problems';

const supported = () =>
  typeof navigator !== 'undefined' &&
  'serviceWorker' in navigator &&
  typeof window !== 'undefined' &&
  'PushManager' in window &&
  'Notification' in window;

function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64url.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(new ArrayBuffer(text.length));
  for (let i = 0; i < text.length; i += 1) bytes[i] = text.charCodeAt(i);
  return bytes;
}

async function currentSubscription(): Promise<PushSubscription | null> {
  const registration = await navigator.serviceWorker.getRegistration('/');
  return registration ? registration.pushManager.getSubscription() : null;
}

export function PushSubscribe() {
  const { t } = useI18n();
  const [state, setState] = useState<'unknown' | 'unsupported' | 'off' | 'on' | 'denied'>('unknown');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<Localised | null>(null);
  const [error, setError] = useState<Localised | null>(null);

  useEffect(() => {
    if (!supported()) {
      setState('unsupported');
      return;
    }
    if (Notification.permission === 'denied') {
      setState('denied');
      return;
    }
    currentSubscription().then(
      (subscription) => setState(subscription ? 'on' : 'off'),
      () => setState('off'),
    );
  }, []);

  const turnOn = async () => {
    setBusy(true);
    setError(null);
    try {
      const permission = await Notification.requestPermission();
      if (permission !== 'granted') {
        setState(permission === 'denied' ? 'denied' : 'off');
        return;
      }
      const registration = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
      await navigator.serviceWorker.ready;
      const key = await getVapidPublicKey();
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(key),
      });
      await savePushSubscription(subscription.toJSON());
      setState('on');
      setMessage({ text: t('push.on.done') });
    } catch (caught) {
      setError(problemMessage(problemOf(caught), t));
    } finally {
      setBusy(false);
    }
  };

  const turnOff = async () => {
    setBusy(true);
    setError(null);
    try {
      const subscription = await currentSubscription();
      if (subscription) {
        await removePushSubscription(subscription.endpoint).catch(() => undefined);
        await subscription.unsubscribe();
      }
      setState('off');
      setMessage({ text: t('push.off.done') });
    } catch (caught) {
      setError(problemMessage(problemOf(caught), t));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="push-title">
      <h2 id="push-title">{t('push.title')}</h2>
      <p>{t('push.lead')}</p>
      {state === 'unsupported' && <p data-testid="push-state">{t('push.unsupported')}</p>}
      {state === 'denied' && <p data-testid="push-state">{t('push.denied')}</p>}
      {state === 'on' && (
        <>
          <p data-testid="push-state">{t('push.state.on')}</p>
          <button type="button" class="button button--secondary" aria-disabled={busy} onClick={turnOff}>
            {t('push.off')}
          </button>
        </>
      )}
      {state === 'off' && (
        <>
          <p data-testid="push-state">{t('push.state.off')}</p>
          <button type="button" class="button button--primary" aria-disabled={busy} onClick={turnOn}>
            {t('push.on')}
          </button>
        </>
      )}
      {error && (
        <p class="notice notice--error" role="alert">
          <Text value={error} />
        </p>
      )}
      <LiveMessage message={message} />
    </section>
  );
}
