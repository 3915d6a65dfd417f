// @fieldline/reference-server is being built (issue: server-sdk and reference server).
// Until then it re-exports nothing; see @fieldline/core.
export {};
