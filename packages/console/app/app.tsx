import { type ReactNode, useEffect, useState } from 'react';
import { describeError } from './api/api-error.js';
import type { SessionResponse } from './api/schemas.js';
import { fetchSession, logout } from './api/session-api.js';
import { DevicesPage } from './devices/devices-page.js';
import { ConsentPage } from './pages/consent-page.js';
import { LoginPage } from './pages/login-page.js';
import { SetupPage } from './pages/setup-page.js';
import { navigate, takeFragmentParam, useRoute } from './router.js';

// Fragments carry secrets (setup token, consent link); they are read once, at load, and
// removed from the address bar before anything else runs.
const initialRoute = window.location.pathname.replace(/^\/console/, '').replace(/\/$/, '');
const setupToken = initialRoute === '/setup' ? takeFragmentParam('token') : undefined;
const consentToken = initialRoute === '/consent' ? takeFragmentParam('t') : undefined;

/** The console: routes to the employee's consent page, or to the operator's pages by session. */
export function App(): ReactNode {
  const route = useRoute();
  if (route === '/consent') return <ConsentPage linkToken={consentToken} />;
  return <OperatorConsole route={route} />;
}

type SessionState =
  | { readonly kind: 'loading' }
  | { readonly kind: 'signed-out'; readonly error?: string }
  | { readonly kind: 'signed-in'; readonly session: SessionResponse };

function OperatorConsole(props: { readonly route: string }): ReactNode {
  const [state, setState] = useState<SessionState>({ kind: 'loading' });
  useEffect(() => {
    fetchSession().then(
      (session) =>
        setState(session === undefined ? { kind: 'signed-out' } : { kind: 'signed-in', session }),
      (failure: unknown) => setState({ kind: 'signed-out', error: describeError(failure) }),
    );
  }, []);
  const signedIn = (session: SessionResponse): void => {
    setState({ kind: 'signed-in', session });
    navigate('/devices');
  };

  if (state.kind === 'loading') {
    return (
      <main className="narrow">
        <p aria-live="polite">Loading…</p>
      </main>
    );
  }
  if (state.kind === 'signed-out') {
    return props.route === '/setup' ? (
      <SetupPage token={setupToken} onSignedIn={signedIn} />
    ) : (
      <LoginPage onSignedIn={signedIn} />
    );
  }
  const { session } = state;
  const signOut = (): void => {
    logout(session).then(
      () => {
        setState({ kind: 'signed-out' });
        navigate('/login');
      },
      (failure: unknown) => setState({ kind: 'signed-out', error: describeError(failure) }),
    );
  };
  return (
    <>
      <header className="top">
        <span className="brand">Fieldline</span>
        <nav aria-label="Main">
          <a href="/console/devices" aria-current={props.route === '/devices' ? 'page' : undefined}>
            Devices
          </a>
        </nav>
        <span className="who">
          {session.user.email} ({session.role.replace('_', ' ')})
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <DevicesPage session={session} />
    </>
  );
}
