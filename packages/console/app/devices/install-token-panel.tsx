import { type FormEvent, type ReactNode, useState } from 'react';
import { createInstallToken, type InstallToken } from '../api/admin-api.js';
import { describeError } from '../api/api-error.js';
import type { SessionResponse } from '../api/schemas.js';

/** Props of {@link InstallTokenPanel}. */
export interface InstallTokenPanelProps {
  readonly session: SessionResponse;
}

/** Issues a one-time install token and shows it with the command that enrolls a device. */
export function InstallTokenPanel(props: InstallTokenPanelProps): ReactNode {
  // An owner acts in every tenant and says which one; anyone else issues for their own.
  const [tenant, setTenant] = useState(props.session.tenant ?? 'default');
  const [issued, setIssued] = useState<InstallToken | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    createInstallToken(props.session, tenant).then(
      (token) => {
        setIssued(token);
        setBusy(false);
      },
      (failure: unknown) => {
        setError(describeError(failure));
        setBusy(false);
      },
    );
  };
  const command =
    issued === undefined
      ? ''
      : `npx fieldline-agent enroll --server ${window.location.origin} --token ${issued.token} --state-dir ./agent-state`;
  return (
    <section aria-labelledby="install-heading" className="panel">
      <h2 id="install-heading">Enroll a device</h2>
      <form onSubmit={submit} className="inline">
        <label htmlFor="install-tenant">Tenant</label>
        <input
          id="install-tenant"
          required
          readOnly={props.session.tenant !== null}
          value={tenant}
          onChange={(event) => setTenant(event.target.value)}
        />
        <button type="submit" disabled={busy}>
          Create install token
        </button>
      </form>
      {error === undefined ? null : (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {issued === undefined ? null : (
        <div role="status">
          <p>
            One-time token, valid until <time dateTime={issued.expiresAt}>{issued.expiresAt}</time>.
            It is shown only now:
          </p>
          <label htmlFor="install-token">Install token</label>
          <input id="install-token" readOnly value={issued.token} />
          <label htmlFor="install-command">Run on the device</label>
          <textarea id="install-command" readOnly rows={2} value={command} />
        </div>
      )}
    </section>
  );
}
