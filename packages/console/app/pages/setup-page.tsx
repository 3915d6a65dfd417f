import { type FormEvent, type ReactNode, useState } from 'react';
import { describeError } from '../api/api-error.js';
import type { SessionResponse } from '../api/schemas.js';
import { PASSWORD_MIN_LENGTH } from '../api/schemas.js';
import { setupOwner } from '../api/session-api.js';

/** Props of {@link SetupPage}. */
export interface SetupPageProps {
  /** The setup token read from the first-run link's `#token=`; undefined when absent. */
  readonly token: string | undefined;
  readonly onSignedIn: (session: SessionResponse) => void;
}

/** First run: creates the owner account with the one-time token `fieldline-server start` printed. */
export function SetupPage(props: SetupPageProps): ReactNode {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  if (props.token === undefined) {
    return (
      <main className="narrow">
        <h1>Set up Fieldline</h1>
        <p role="alert">
          This page needs the first-run link the server printed at start (it ends in
          <code>#token=…</code>). Restart the server to get a new one, or{' '}
          <a href="/console/login">sign in</a> if an account exists.
        </p>
      </main>
    );
  }
  const token = props.token;
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setupOwner(token, email, password).then(props.onSignedIn, (failure: unknown) => {
      setError(describeError(failure));
      setBusy(false);
    });
  };
  return (
    <main className="narrow">
      <h1>Set up Fieldline</h1>
      <p>Create the owner account. The owner can see and manage every tenant.</p>
      <form onSubmit={submit} aria-describedby={error === undefined ? undefined : 'setup-error'}>
        <label htmlFor="setup-email">E-mail</label>
        <input
          id="setup-email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(event) => setEmail(event.target.value)}
        />
        <label htmlFor="setup-password">Password</label>
        <input
          id="setup-password"
          type="password"
          autoComplete="new-password"
          required
          minLength={PASSWORD_MIN_LENGTH}
          aria-describedby="setup-password-hint"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        <p id="setup-password-hint" className="hint">
          At least {PASSWORD_MIN_LENGTH} characters.
        </p>
        {error === undefined ? null : (
          <p id="setup-error" role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Create owner account
        </button>
      </form>
    </main>
  );
}
