// Apart from consent-link.ts (which signs and verifies with node:crypto) so that schemas using
// the limit stay free of Node modules: the console bundles them for the browser.

/** The longest token text a server reads; real tokens are about 300 characters. */
export const MAX_CONSENT_LINK_TOKEN_LENGTH = 2048;
