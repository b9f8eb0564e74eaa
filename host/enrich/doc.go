// Package enrich implements weir's enrichment host functions: DNS (PTR, A,
// AAAA, TXT), HTTP, DynamoDB (and local in-memory tables behind the same
// API), a key-value cache (in memory or DynamoDB-backed) and MaxMind DB
// lookups. Modules import them from "extism:host/user" with Extism's
// calling convention; sdk/ABI.md ("Host functions") specifies every
// request and response byte by byte, and sdk/go/weir/enrich wraps them for
// Go modules.
//
// Every function is batched: a module hands a whole batch's keys in one
// call. The host de-duplicates them, serves what it can from its
// cache-aside caches (negative answers included), resolves the rest
// concurrently on a bounded worker pool (errgroup with a limit), and
// returns one result per key, in request order. Failures are data: a
// denied call, a malformed request, a timeout, a throttled table, an
// oversized HTTP body... become a status and a message, for the call or
// for one key only; a host function never traps the guest and never
// panics.
//
// An Env holds one stage's granted capabilities (engine.Capabilities),
// its counters, and its clients and caches; the host makes one per stage
// and passes it to the host functions through the calling instance.
// Caches, clients and loaded files are shared by the Envs of a process
// whose configuration is the same (a DNS cache by resolver and TTLs, an
// HTTP client and cache by capability, a DynamoDB client by region and
// endpoint, its cache also by TTL, an MMDB reader by version (a file's
// path, size and modification time; an s3:// object's ETag), a
// memory key-value cache by stage name): two stages, or the new version
// of a hot-swapped stage, use the same warm entries. Sharing is weak: what
// no Env uses any more is collected, so memory is bounded by the
// configurations in use, each cache by its size.
package enrich
