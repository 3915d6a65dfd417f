import { describe, expect, it } from 'vitest';
import { busPrefixFromDatabaseUrl } from '../../src/cluster/bus-channel-prefix.js';

describe('busPrefixFromDatabaseUrl', () => {
  it('uses the search_path schema of the URL options', () => {
    const url = new URL('postgres://u@db:5432/app');
    url.searchParams.set('options', '-c search_path=fl_tenant_a');
    expect(busPrefixFromDatabaseUrl(url.toString())).toBe('fl_tenant_a_');
    expect(busPrefixFromDatabaseUrl('postgres://u@db/app?options=--search_path%3Dother')).toBe(
      'other_',
    );
  });

  it('is empty without a schema or for a URL it cannot read', () => {
    expect(busPrefixFromDatabaseUrl('postgres://u@db:5432/app')).toBe('');
    expect(
      busPrefixFromDatabaseUrl('postgres://u@db/app?options=-c%20statement_timeout%3D5s'),
    ).toBe('');
    expect(busPrefixFromDatabaseUrl('not a url')).toBe('');
  });

  it('keeps channel names legal: odd characters replaced, long names shortened with a hash', () => {
    const odd = busPrefixFromDatabaseUrl(
      `postgres://db/app?options=${encodeURIComponent('-c search_path="My-Schema"')}`,
    );
    expect(odd).toBe('My_Schema_');
    const long = (name: string) =>
      busPrefixFromDatabaseUrl(
        `postgres://db/app?options=${encodeURIComponent(`-c search_path=${name}`)}`,
      );
    const first = long(`${'s'.repeat(50)}_one`);
    const second = long(`${'s'.repeat(50)}_two`);
    expect(first.length).toBeLessThanOrEqual(40);
    expect(first).toMatch(/^[A-Za-z0-9_]+$/);
    expect(first).not.toBe(second);
  });
});
