import { describe, expect, it } from 'vitest';
import { createRouteLabeler, UNMATCHED_ROUTE } from '../../src/http/route-labeler.js';

const handle = async () => ({ status: 204 });

describe('createRouteLabeler', () => {
  const label = createRouteLabeler([
    { method: 'GET', path: '/healthz', handle },
    { method: 'GET', path: '/v1/admin/devices/:id', handle },
    { method: 'POST', path: '/v1/admin/devices/:id/consent', handle },
    { method: 'GET', path: '/v1.x/a+b', handle },
  ]);

  it('names a path by its pattern, so ids never become label values', () => {
    expect(label('/healthz')).toBe('/healthz');
    expect(label('/v1/admin/devices/dev_123')).toBe('/v1/admin/devices/:id');
    expect(label('/v1/admin/devices/dev_9/consent')).toBe('/v1/admin/devices/:id/consent');
  });

  it('labels everything else as unmatched, and treats pattern text literally', () => {
    for (const path of [
      '/',
      '/v1/admin/devices',
      '/v1/admin/devices/a/b/c',
      '/v1yx/a+b',
      '/v1.x/aab',
    ])
      expect(label(path)).toBe(UNMATCHED_ROUTE);
    expect(label('/v1.x/a+b')).toBe('/v1.x/a+b');
  });
});
