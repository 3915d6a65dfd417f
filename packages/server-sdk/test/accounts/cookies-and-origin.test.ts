import { describe, expect, it } from 'vitest';
import { originAllowed } from '../../src/accounts/request-origin.js';
import { readCookie, sessionCookie } from '../../src/accounts/session-cookie.js';
import type { FieldlineRequest } from '../../src/http/types.js';

function request(headers: Record<string, string>): FieldlineRequest {
  return {
    method: 'POST',
    path: '/v1/auth/login',
    query: new URLSearchParams(),
    header: (name) => headers[name.toLowerCase()],
    body: new Uint8Array(),
  };
}

describe('session cookie', () => {
  it('is HttpOnly, SameSite=Strict, Path=/, with Max-Age, and Secure only when asked', () => {
    expect(sessionCookie('fl_session_a', { secure: false, maxAgeSeconds: 60.9 })).toBe(
      'fieldline_session=fl_session_a; Path=/; HttpOnly; SameSite=Strict; Max-Age=60',
    );
    expect(sessionCookie('', { secure: true, maxAgeSeconds: -5 })).toBe(
      'fieldline_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure',
    );
  });

  it('is read from a Cookie header, and a name sent twice with two values is not picked', () => {
    expect(readCookie('a=1; fieldline_session=tok; b=2', 'fieldline_session')).toBe('tok');
    expect(readCookie('fieldline_session=tok; fieldline_session=tok', 'fieldline_session')).toBe(
      'tok',
    );
    expect(
      readCookie('fieldline_session=mine; fieldline_session=planted', 'fieldline_session'),
    ).toBeUndefined();
    expect(readCookie('fieldline_session=', 'fieldline_session')).toBeUndefined();
    expect(readCookie('other=1', 'fieldline_session')).toBeUndefined();
    expect(readCookie(undefined, 'fieldline_session')).toBeUndefined();
  });
});

describe('origin check', () => {
  it('lets requests without Origin and from the same host and port through', () => {
    expect(originAllowed(request({ host: 'fl.example:8080' }))).toBe(true);
    expect(
      originAllowed(request({ host: 'fl.example:8080', origin: 'http://fl.example:8080' })),
    ).toBe(true);
    expect(originAllowed(request({ host: 'fl.example', origin: 'https://fl.example:443' }))).toBe(
      true,
    );
  });

  it('refuses another host or port, a null or malformed Origin, and a missing Host', () => {
    expect(originAllowed(request({ host: 'fl.example', origin: 'https://evil.example' }))).toBe(
      false,
    );
    expect(
      originAllowed(request({ host: 'fl.example:8080', origin: 'http://fl.example:8081' })),
    ).toBe(false);
    expect(originAllowed(request({ host: 'fl.example', origin: 'null' }))).toBe(false);
    expect(originAllowed(request({ host: 'fl.example', origin: 'file:///x' }))).toBe(false);
    expect(originAllowed(request({ origin: 'http://fl.example' }))).toBe(false);
  });

  it('accepts configured origins (a proxy that rewrites Host)', () => {
    const behindProxy = request({ host: '10.0.0.5:8080', origin: 'https://console.example' });
    expect(originAllowed(behindProxy)).toBe(false);
    expect(originAllowed(behindProxy, ['https://console.example'])).toBe(true);
  });
});
