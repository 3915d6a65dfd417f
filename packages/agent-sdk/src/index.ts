// @fieldline/agent-sdk is being built (issue: agent-sdk and reference agent).
// Until then it re-exports nothing; depend on @fieldline/core for the shared pieces.
export {};
