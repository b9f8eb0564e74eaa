// Package enrich is the Go SDK for weir's enrichment host functions: DNS
// (PTR, A, AAAA, TXT), MaxMind DB lookups (ASN, city), DynamoDB and local
// tables (get, query, put), HTTP requests and a key-value cache. They are
// host functions in "extism:host/user" (sdk/ABI.md, "Host functions"), so a
// module that calls them needs weir's host and a stage granted the
// matching capabilities; on any other host the module fails to load.
//
// Every function is batched: hand it all the keys of a batch at once and it
// returns one Result per key, in order. The wrappers send the host each
// distinct key once (every byte crosses Extism kernel memory 8 bytes per
// host call); the host serves them from its caches and resolves the rest
// concurrently, so one call for 1,000 records costs about as much as the
// slowest distinct lookup. Use weir.Prepare to collect a batch's keys
// before its records are handled: a cached lookup costs ~10 µs per call
// from a Go module, ~2.6 µs per record when the batch makes one call
// (bench/RESULTS.md).
//
// Failures are values: a key that is not an IP address, a DNS timeout, a
// throttled table or a call the stage was not granted gives a Result with
// Status Error or Denied and Err set, for that key only (or for every key
// when the whole call was refused). Nothing panics.
//
// Outside Wasm (native tests), calls go to the function installed with
// SetHost; without one, every call fails with ErrNoHost. In Wasm, SetHost
// lets a module's tests answer the calls themselves.
package enrich
