import { type ReactNode, useEffect, useState } from 'react';
import { describeError } from '../api/api-error.js';
import { changeConsent, fetchConsentPage, openConsentSession } from '../api/consent-api.js';
import type { ConsentPageResponse, ConsentReceiptBody } from '../api/schemas.js';

/** Props of {@link ConsentPage}. */
export interface ConsentPageProps {
  /** The link's token (`#t=`); undefined on a reload, when the session cookie may still hold. */
  readonly linkToken: string | undefined;
}

const STATUS_WORDS: Readonly<Record<string, string>> = {
  granted: 'You allowed this.',
  not_granted: 'Not allowed.',
  pending: 'Waiting for your answer.',
  withdrawn: 'You withdrew your consent.',
  expired: 'Your consent expired.',
};

/** The employee's page: what their device's policy collects, scope by scope, and their answer. */
export function ConsentPage(props: ConsentPageProps): ReactNode {
  const [page, setPage] = useState<ConsentPageResponse | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [receipt, setReceipt] = useState<ConsentReceiptBody | undefined>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let cancelled = false;
    const token = props.linkToken;
    const opened = token === undefined ? Promise.resolve() : openConsentSession(token);
    opened.then(fetchConsentPage).then(
      (loaded) => {
        if (!cancelled) setPage(loaded);
      },
      (failure: unknown) => {
        if (!cancelled) setError(describeError(failure));
      },
    );
    return () => {
      cancelled = true;
    };
  }, [props.linkToken]);

  if (page === undefined) {
    return (
      <main className="narrow">
        <h1>Your privacy choices</h1>
        {error === undefined ? (
          <p aria-live="polite">Opening your consent page…</p>
        ) : (
          <p role="alert" className="error">
            {error} Ask your device for a new link: run <code>fieldline-agent consent</code>.
          </p>
        )}
      </main>
    );
  }

  const act = (scope: string, action: 'grant' | 'withdraw'): void => {
    setBusy(true);
    setError(undefined);
    changeConsent(page, scope, action)
      .then(async (changed) => {
        setReceipt(changed.receipt);
        setPage(await fetchConsentPage());
      })
      .catch((failure: unknown) => setError(describeError(failure)))
      .finally(() => setBusy(false));
  };
  const statusOf = (scope: string): string =>
    page.scopes.find((entry) => entry.scope === scope)?.status ?? 'pending';

  return (
    <main className="narrow">
      <h1>Your privacy choices</h1>
      <p>
        Device <strong>{page.device.name}</strong> ({page.device.tenant}). Nothing is collected
        under a scope you have not allowed, and you can withdraw at any time.
      </p>
      {error === undefined ? null : (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {page.policy === null ? (
        <p>Your organization has not published a policy yet, so nothing is collected.</p>
      ) : (
        <>
          <section aria-labelledby="policy-heading">
            <h2 id="policy-heading">Policy version {page.policy.version}</h2>
            {page.policy.summary === undefined ? null : <p>{page.policy.summary}</p>}
            <ul className="scopes">
              {page.policy.scopes.map((entry) => {
                const status = statusOf(entry.scope);
                return (
                  <li key={entry.scope} aria-labelledby={`scope-${entry.scope}`}>
                    <h3 id={`scope-${entry.scope}`}>{entry.scope}</h3>
                    <p>
                      <strong>Why:</strong> {entry.purpose}
                    </p>
                    {entry.collects === undefined ? null : (
                      <p>
                        <strong>What is collected:</strong> {entry.collects}
                      </p>
                    )}
                    {entry.retentionDays === undefined ? null : (
                      <p>
                        <strong>Kept for:</strong> {entry.retentionDays} days
                      </p>
                    )}
                    <p data-scope-status={status}>{STATUS_WORDS[status] ?? status}</p>
                    {status === 'granted' ? (
                      <button
                        type="button"
                        disabled={busy}
                        onClick={() => act(entry.scope, 'withdraw')}
                      >
                        Withdraw consent for {entry.scope}
                      </button>
                    ) : (
                      <button
                        type="button"
                        disabled={busy}
                        onClick={() => act(entry.scope, 'grant')}
                      >
                        Allow {entry.scope}
                      </button>
                    )}
                  </li>
                );
              })}
            </ul>
          </section>
          <details>
            <summary>Full policy text</summary>
            <pre className="policy-text">{page.policy.text}</pre>
          </details>
        </>
      )}
      {receipt === undefined ? null : <Receipt receipt={receipt} />}
    </main>
  );
}

function Receipt(props: { readonly receipt: ConsentReceiptBody }): ReactNode {
  const { record, signature } = props.receipt;
  return (
    <section aria-labelledby="receipt-heading" className="panel">
      <h2 id="receipt-heading">Your receipt</h2>
      <dl>
        <dt>Receipt</dt>
        <dd className="mono">{record.recordId}</dd>
        <dt>Policy version</dt>
        <dd>{record.policy.version}</dd>
        <dt>Scopes</dt>
        <dd>{record.purposes.map((purpose) => purpose.scope).join(', ') || 'none'}</dd>
        <dt>Recorded at</dt>
        <dd>
          <time dateTime={record.timestamps.collectedAt}>{record.timestamps.collectedAt}</time>
        </dd>
        <dt>Server signature</dt>
        <dd className="mono wrap">{signature}</dd>
      </dl>
    </section>
  );
}
