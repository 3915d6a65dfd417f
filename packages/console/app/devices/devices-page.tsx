import { type ReactNode, useDeferredValue, useMemo, useState } from 'react';
import type { DeviceRow } from '../api/admin-api.js';
import type { SessionResponse } from '../api/schemas.js';
import { type VirtualColumn, VirtualTable } from '../components/virtual-table.js';
import { InstallTokenPanel } from './install-token-panel.js';
import { useDevices } from './use-devices.js';

/** Props of {@link DevicesPage}. */
export interface DevicesPageProps {
  readonly session: SessionResponse;
}

const ROW_HEIGHT_PX = 36;
const VIEWPORT_HEIGHT_PX = 540;

function matches(device: DeviceRow, needle: string): boolean {
  if (needle === '') return true;
  return [device.id, device.hostname, device.tenant, device.os, device.arch].some((field) =>
    field.toLowerCase().includes(needle),
  );
}

/** The fleet: every device, filterable, with live online/offline, and enrollment. */
export function DevicesPage(props: DevicesPageProps): ReactNode {
  const { devices, error, loading, live } = useDevices();
  const [filter, setFilter] = useState('');
  // Typing stays responsive with 10,000 rows: the filtering render may lag a keystroke behind.
  const deferredFilter = useDeferredValue(filter.trim().toLowerCase());
  const shown = useMemo(
    () => devices.filter((device) => matches(device, deferredFilter)),
    [devices, deferredFilter],
  );
  const online = useMemo(() => devices.filter((device) => device.online).length, [devices]);
  return (
    <main>
      <h1>Devices</h1>
      <InstallTokenPanel session={props.session} />
      <section aria-labelledby="fleet-heading">
        <h2 id="fleet-heading">Fleet</h2>
        <p className="summary" aria-live="polite">
          {loading ? 'Loading…' : `${devices.length} devices, ${online} online`}
          {live ? ' · live' : ' · reconnecting to live updates…'}
        </p>
        {error === undefined ? null : (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <label htmlFor="device-filter">Filter devices</label>
        <input
          id="device-filter"
          type="search"
          placeholder="host name, id, tenant, OS"
          value={filter}
          onChange={(event) => setFilter(event.target.value)}
        />
        <VirtualTable
          items={shown}
          columns={COLUMNS}
          caption="Devices"
          rowHeightPx={ROW_HEIGHT_PX}
          maxHeightPx={VIEWPORT_HEIGHT_PX}
          keyOf={(device) => device.id}
        />
        {!loading && shown.length === 0 ? (
          <p>
            {devices.length === 0 ? 'No device enrolled yet.' : 'No device matches the filter.'}
          </p>
        ) : null}
      </section>
    </main>
  );
}

function statusOf(device: DeviceRow): 'revoked' | 'online' | 'offline' {
  if (device.status === 'revoked') return 'revoked';
  return device.online ? 'online' : 'offline';
}

const COLUMNS: readonly VirtualColumn<DeviceRow>[] = [
  { header: 'Host', cell: (device) => device.hostname, className: 'host' },
  {
    header: 'Status',
    cell: (device) => {
      const status = statusOf(device);
      return (
        <span className={`badge ${status}`} data-device-status={status}>
          {status}
        </span>
      );
    },
  },
  { header: 'Tenant', cell: (device) => device.tenant },
  { header: 'OS', cell: (device) => `${device.os}/${device.arch}` },
  {
    header: 'Last seen',
    cell: (device) =>
      device.lastSeen === null ? (
        'never'
      ) : (
        <time dateTime={device.lastSeen}>{device.lastSeen}</time>
      ),
  },
  { header: 'Id', cell: (device) => device.id, className: 'mono' },
];
