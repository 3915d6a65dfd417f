// @fieldline/server-sdk is being built (issue: server-sdk and reference server).
// Until then it re-exports nothing; depend on @fieldline/core for the shared pieces.
export {};
