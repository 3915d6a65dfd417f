import { jobReportSchema, ROUTES, SealKind, toConsentSnapshot } from '@fieldline/core';
import { authenticateDevice } from '../auth/device-auth.js';
import { currentConsent } from '../consent/current-consent.js';
import { json, requireJsonContentType, validate } from '../http/json-body.js';
import type { Route } from '../http/types.js';
import { type IngestionPipeline, runIngestion } from '../ingestion/pipeline.js';
import { storeReport } from '../reports/report-store.js';
import { openDeviceFrame } from '../sealing/open-device-frame.js';
import type { AppContext } from './app-context.js';

/**
 * `POST /v1/events` (through the ingestion pipeline) and `POST /v1/reports`.
 * Both answer with the device's current consent and its open commands (each
 * answer is a delivery, docs/protocol.md §4.7), so an agent that only speaks
 * HTTP still learns of a withdrawal at once.
 *
 * @param context - the shared context.
 * @param ingestion - the pipeline events go through.
 */
export function deviceDataRoutes(context: AppContext, ingestion: IngestionPipeline): Route[] {
  const { db, clock } = context;

  async function sideChannel(deviceId: string) {
    const [consent, commands] = await Promise.all([
      currentConsent(db, deviceId),
      // Only due ones: a command sent on the socket a moment ago is not handed over again (and
      // counted) just because the device also spoke HTTP before its handler finished.
      context.commands.takeForDelivery(deviceId, { onlyDue: true }),
    ]);
    await context.lastSeen.touch(deviceId);
    return { consent: toConsentSnapshot(consent), commands };
  }

  return [
    {
      method: 'POST',
      path: ROUTES.events,
      async handle(request) {
        const device = await authenticateDevice(db, request);
        requireJsonContentType(request);
        const result = await runIngestion(ingestion, {
          device: {
            id: device.id,
            tenantId: device.tenantId,
            signingPublicKey: device.signingPublicKey,
          },
          rawBody: request.body,
          receivedAt: new Date(clock.now()),
        });
        return json(200, { ...result, ...(await sideChannel(device.id)) });
      },
    },
    {
      method: 'POST',
      path: ROUTES.reports,
      async handle(request) {
        const device = await authenticateDevice(db, request);
        requireJsonContentType(request);
        const opened = await openDeviceFrame(request.body, {
          serverIdentity: context.serverIdentity,
          previousServerIdentities: context.serverKeys.previousAt(clock.now()),
          replayGuard: context.replayGuard,
          device,
          kind: SealKind.JobReport,
          kindName: 'job report',
          clock,
        });
        const report = validate(opened.payload, jobReportSchema);
        const status = await storeReport(db, device, report, new Date(clock.now()));
        const { commands } = await sideChannel(device.id);
        return json(200, { id: report.id, status, commands });
      },
    },
  ];
}
