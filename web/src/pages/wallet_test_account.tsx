// An administrator's own test account (W13): the support number to use at test points, its
// balances, and a form to add test money. Test money never touches real accounts or
// settlements (docs/pos-protocol.md, section 7).
import { useEffect, useState } from 'preact/hooks';
import { ErrorSummary, LiveMessage, SubmitButton, Text, TextField, errorFor, useSubmission } from '../components/form';
import { problemOf } from '../api';
import { useI18n } from '../i18n';
import { creditTestAccount, eurosToCents, formatEuros, getTestAccount, posLimits, type TestAccount } from '../pos';
import { formErrors, problemMessage, type Localised } from '../problems';
import { Link } from '../router';

export function TestAccountPage() {
  const { t, lang } = useI18n();
  const [account, setAccount] = useState<TestAccount | null>(null);
  const [loadProblem, setLoadProblem] = useState<Localised | null>(null);
  const [amount, setAmount] = useState('');
  const [message, setMessage] = useState<Localised | null>(null);
  const submission = useSubmission();

  useEffect(() => {
    // The account is made on the first call, so reading it is a POST (no AbortSignal).
    let live = true;
    getTestAccount().then(
      (answer) => live && setAccount(answer),
      (error: unknown) => live && setLoadProblem(problemMessage(problemOf(error), t)),
    );
    return () => {
      live = false;
    };
  }, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (submission.busy) return;
    const cents = eurosToCents(amount);
    if (cents === null || cents <= 0 || cents > posLimits.testCreditCentsMax) {
      submission.fail([
        { field: 'test-amount', text: t('pos.test.amount.invalid', { max: formatEuros(posLimits.testCreditCentsMax, lang) }) },
      ]);
      return;
    }
    submission.setBusy(true);
    setMessage(null);
    try {
      const answer = await creditTestAccount(cents);
      setAccount(answer);
      setAmount('');
      submission.clear();
      setMessage({ text: t('pos.test.credited', { amount: formatEuros(cents, lang) }) });
    } catch (error) {
      submission.fail(formErrors(problemOf(error), t, { '/amount': 'test-amount' }));
    } finally {
      submission.setBusy(false);
    }
  };

  const amountOf = (counter: string, euro: boolean, value: number) =>
    euro ? formatEuros(value, lang) : `${value} ${counter}`;

  return (
    <>
      <h1 tabIndex={-1}>{t('pos.test.title')}</h1>
      <p class="lead">{t('pos.test.lead')}</p>
      <p>
        <Link href="/wallet/points">{t('pos.points.title')}</Link>
      </p>
      {loadProblem && (
        <div class="notice notice--error" role="alert">
          <p>
            <Text value={loadProblem} />
          </p>
        </div>
      )}
      {!account && !loadProblem && <p role="status">{t('common.loading')}</p>}
      {account && (
        <>
          <dl class="details">
            <div>
              <dt>{t('pos.test.support')}</dt>
              <dd>
                <code data-testid="test-support">{account.support_number}</code>
              </dd>
            </div>
          </dl>
          <div class="table-wrap">
            <table class="table" data-testid="test-balances">
              <caption>{t('pos.test.balances')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('pos.test.counter')}</th>
                  <th scope="col">{t('pos.test.balance')}</th>
                  <th scope="col">{t('pos.test.available')}</th>
                </tr>
              </thead>
              <tbody>
                {account.balances.map((balance) => (
                  <tr key={balance.counter}>
                    <th scope="row">{balance.euro ? t('pos.test.euro') : balance.counter}</th>
                    <td>{amountOf(balance.counter, balance.euro, balance.balance)}</td>
                    <td>{amountOf(balance.counter, balance.euro, balance.available)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <form noValidate onSubmit={submit} aria-labelledby="test-credit-title">
            <h2 id="test-credit-title">{t('pos.test.credit')}</h2>
            <ErrorSummary errors={submission.errors} attempt={submission.attempt} />
            <TextField id="test-amount" label={t('pos.test.amount')} hint={t('pos.test.amount.hint')} value={amount}
              onInput={setAmount} inputMode="text" autocomplete="off" error={errorFor(submission.errors, 'test-amount')} />
            <SubmitButton busy={submission.busy}>{t('pos.test.credit.submit')}</SubmitButton>
          </form>
        </>
      )}
      <LiveMessage message={message} />
    </>
  );
}
