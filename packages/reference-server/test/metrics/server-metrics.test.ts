import { describe, expect, it } from 'vitest';
import { createServerMetrics } from '../../src/metrics/server-metrics.js';

describe('createServerMetrics', () => {
  it('keeps its metrics in its own registry, so two instances do not collide', async () => {
    const a = createServerMetrics({ processMetrics: false });
    const b = createServerMetrics({ processMetrics: false });
    a.eventsIngested(2);
    expect(await a.render()).toContain('fieldline_events_ingested_total 2');
    expect(await b.render()).toContain('fieldline_events_ingested_total 0');
    expect(await a.render()).not.toContain('process_cpu');
  });

  it('adds a batch summary to the ingestion counters', async () => {
    const metrics = createServerMetrics({ processMetrics: false });
    metrics.recordIngestion({
      accepted: 5,
      duplicates: 2,
      rejectedByCode: { invalid_event: 1, consent_required: 3 },
    });
    metrics.recordIngestion({
      accepted: 1,
      duplicates: 0,
      rejectedByCode: { invalid_event: 1 },
      agentDrops: { no_consent: 4, overflow: 0 },
    });
    const text = await metrics.render();
    expect(text).toContain('fieldline_events_ingested_total 6');
    expect(text).toContain('fieldline_events_duplicate_total 2');
    expect(text).toContain('fieldline_events_rejected_total{code="invalid_event"} 2');
    expect(text).toContain('fieldline_events_rejected_total{code="consent_required"} 3');
    expect(text).toContain('fieldline_agent_events_dropped_total{reason="no_consent"} 4');
    expect(text).not.toContain('reason="overflow"');
  });

  it('counts unknown methods as OTHER, so clients cannot grow the label set', async () => {
    const metrics = createServerMetrics({ processMetrics: false });
    metrics.observeRequest({ method: 'BREW', route: 'unmatched', status: 405, durationMs: 3 });
    metrics.observeRequest({ method: 'GET', route: '/healthz', status: 'aborted', durationMs: 1 });
    const text = await metrics.render();
    expect(text).toContain(
      'fieldline_http_requests_total{method="OTHER",route="unmatched",status="405"} 1',
    );
    expect(text).toContain(
      'fieldline_http_requests_total{method="GET",route="/healthz",status="aborted"} 1',
    );
    expect(text).not.toContain('BREW');
  });

  it("reports stream consumers' lag, and scrapes on when reading it fails", async () => {
    const metrics = createServerMetrics({ processMetrics: false });
    expect(await metrics.render()).not.toMatch(/fieldline_stream_consumer_lag_records\{/);
    let failing = false;
    metrics.observeConsumerLag(async () => {
      if (failing) throw new Error('database down');
      return [
        { consumer: 'analytics', records: 12, oldestAgeMs: 4500 },
        { consumer: 'webhooks', records: 0, oldestAgeMs: 0 },
      ];
    });
    const text = await metrics.render();
    expect(text).toContain('fieldline_stream_consumer_lag_records{consumer="analytics"} 12');
    expect(text).toContain('fieldline_stream_consumer_lag_seconds{consumer="analytics"} 4.5');
    expect(text).toContain('fieldline_stream_consumer_lag_records{consumer="webhooks"} 0');
    failing = true;
    const during = await metrics.render();
    expect(during).toContain('fieldline_events_ingested_total 0');
    expect(during).not.toMatch(/fieldline_stream_consumer_lag_(records|seconds)\{/);
  });
});
