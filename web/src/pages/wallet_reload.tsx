// Reloading one's wallet by card: the amount in euros, then the acquirer's payment page; the
// account is credited when the acquirer's signed notification arrives, not by coming back.
import { useState } from 'preact/hooks';
import { problemOf } from '../api';
import { ErrorSummary, SubmitButton, TextField, errorFor, useSubmission } from '../components/form';
import { useI18n } from '../i18n';
import { formErrors } from '../problems';
import { startCardReload } from '../wallet';
import { parseEuros } from './message_preferences';
import { HolderOnly } from '../components/holder';

function ReloadForm() {
  const { t } = useI18n();
  const form = useSubmission();
  const [amount, setAmount] = useState('');
  const onSubmit = async (event: Event) => {
    event.preventDefault();
    if (form.busy) return;
    const cents = parseEuros(amount);
    if (cents === null || Number.isNaN(cents) || cents <= 0) {
      return form.fail([{ field: 'reload-amount', text: t('wallet.reload.amount.invalid') }]);
    }
    form.setBusy(true);
    try {
      const payment = await startCardReload(cents);
      form.clear();
      if (payment.redirect_url) location.assign(payment.redirect_url);
    } catch (error) {
      form.fail(formErrors(problemOf(error), t, { '/amount': 'reload-amount' }));
      form.setBusy(false);
    }
  };
  return (
    <div class="narrow">
      <p class="lead">{t('wallet.reload.lead')}</p>
      <ErrorSummary errors={form.errors} attempt={form.attempt} />
      <form class="form" noValidate onSubmit={onSubmit} aria-busy={form.busy}>
        <TextField id="reload-amount" label={t('wallet.reload.amount')} hint={t('wallet.reload.amount.hint')}
          inputMode="text" autocomplete="off" value={amount} onInput={setAmount}
          error={errorFor(form.errors, 'reload-amount')} />
        <SubmitButton busy={form.busy}>{t('wallet.reload.submit')}</SubmitButton>
      </form>
    </div>
  );
}

export function WalletReloadPage() {
  const { t } = useI18n();
  return <HolderOnly title={t('wallet.reload.title')}>{() => <ReloadForm />}</HolderOnly>;
}
