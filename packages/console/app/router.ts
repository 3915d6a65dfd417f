import { useEffect, useState } from 'react';

/** Where the console is mounted (Vite's `base`). */
export const BASE = '/console';

/**
 * The console's route: the path under {@link BASE}, e.g. `/devices`.
 *
 * @returns the current route; it changes on {@link navigate} and on back/forward.
 */
export function useRoute(): string {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = (): void => setRoute(currentRoute());
    window.addEventListener('popstate', update);
    return () => window.removeEventListener('popstate', update);
  }, []);
  return route;
}

function currentRoute(): string {
  const path = window.location.pathname;
  const rest = path.startsWith(BASE) ? path.slice(BASE.length) : path;
  return rest === '' || rest === '/' ? '/' : rest.replace(/\/$/, '');
}

/**
 * Goes to another route of the console without reloading (the fragment is dropped: it may
 * have carried a token).
 *
 * @param route - e.g. `/devices`.
 */
export function navigate(route: string): void {
  window.history.pushState(null, '', `${BASE}${route}`);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/**
 * Reads one parameter of the URL fragment (`#token=…`, `#t=…`) and removes the fragment from
 * the address bar and history, so the secret is not left behind in the page's URL.
 *
 * @param name - the parameter.
 * @returns its value, or undefined.
 */
export function takeFragmentParam(name: string): string | undefined {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const value = params.get(name) ?? undefined;
  if (window.location.hash !== '') {
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  return value;
}
