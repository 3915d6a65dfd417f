import { type FormEvent, type ReactNode, useState } from 'react';
import { describeError } from '../api/api-error.js';
import type { SessionResponse } from '../api/schemas.js';
import { login } from '../api/session-api.js';

/** Props of {@link LoginPage}. */
export interface LoginPageProps {
  readonly onSignedIn: (session: SessionResponse) => void;
}

/** Signs a person in with e-mail and password. */
export function LoginPage(props: LoginPageProps): ReactNode {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    login(email, password).then(props.onSignedIn, (failure: unknown) => {
      setError(describeError(failure));
      setBusy(false);
    });
  };
  return (
    <main className="narrow">
      <h1>Sign in to Fieldline</h1>
      <form onSubmit={submit}>
        <label htmlFor="login-email">E-mail</label>
        <input
          id="login-email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(event) => setEmail(event.target.value)}
        />
        <label htmlFor="login-password">Password</label>
        <input
          id="login-password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        {error === undefined ? null : (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
