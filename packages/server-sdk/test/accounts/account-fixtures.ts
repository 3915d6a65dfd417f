// Shared by the account suites: accounts created through the API with the operator's token,
// logins that keep the cookie and the CSRF token, and requests that send them.
import type { RoleGrant, SessionResponse } from '@fieldline/core';
import { expect } from 'vitest';
import { call, OPERATOR_TOKEN } from '../support/test-server.js';

export const PASSWORD = 'correct horse battery staple';

/** A person logged in: the cookie to send back and the CSRF token for mutating requests. */
export interface LoggedIn {
  readonly cookie: string;
  readonly csrf: string;
  readonly setCookie: string;
  readonly body: SessionResponse;
}

/** Creates an account with the operator's token; returns its id. */
export async function createAccount(
  url: string,
  email: string,
  roles: RoleGrant[],
  password = PASSWORD,
): Promise<string> {
  const created = await call(`${url}/v1/users`, {
    token: OPERATOR_TOKEN,
    body: { email, password, roles },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id as string;
}

/** The `name=value` part of a Set-Cookie header, to send back as a Cookie header. */
export function cookiePair(setCookie: string | null): string {
  const pair = (setCookie ?? '').split(';')[0] ?? '';
  expect(pair).toMatch(/^fieldline_session=fl_session_/);
  return pair;
}

/** Logs in and checks it worked. */
export async function login(
  url: string,
  email: string,
  password = PASSWORD,
  extra: Record<string, unknown> = {},
): Promise<LoggedIn> {
  const response = await call(`${url}/v1/auth/login`, { body: { email, password, ...extra } });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  const setCookie = response.headers.get('set-cookie') ?? '';
  return {
    cookie: cookiePair(setCookie),
    csrf: response.body.csrfToken as string,
    setCookie,
    body: response.body,
  };
}

/** A request with the session cookie (and the CSRF token unless `csrf: false`). */
export function asPerson(
  url: string,
  person: LoggedIn,
  init: {
    method?: string;
    body?: unknown;
    csrf?: string | false;
    headers?: Record<string, string>;
  } = {},
) {
  const headers: Record<string, string> = { cookie: person.cookie, ...init.headers };
  if (init.csrf !== false) headers['x-csrf-token'] = init.csrf ?? person.csrf;
  return call(url, {
    headers,
    ...(init.method === undefined ? {} : { method: init.method }),
    ...(init.body === undefined ? {} : { body: init.body }),
  });
}
