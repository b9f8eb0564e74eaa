// Package source fetches module and configuration versions from where they
// are published, and checks them before they are used.
//
// A reference is a URI:
//
//	file:///abs/path.wasm, a/relative/path.wasm   a local file
//	s3://bucket/key[?versionId=v]                 an S3 object (ETag, version id)
//	appconfig://application/environment/profile   AWS AppConfig, through the
//	                                              agent's local HTTP endpoint or
//	                                              the AppConfigData API
//	https://host/path                             an allow-listed HTTPS host
//
// Open returns a Source for a reference. Source.Fetch is conditional: given
// the version the caller already holds, it returns ErrNotModified when the
// object has not changed (S3 If-None-Match on the ETag, HTTP ETags, the
// AppConfig configuration version, an empty AppConfigData body, a file's
// digest), so a watcher can poll cheaply.
//
// Verify checks a fetched object: its size cap, its sha256 digest (a pin
// from the configuration, or the digest the source announces: the S3
// object's "sha256" user metadata), its ed25519 signature, and that it is a
// core WebAssembly module (not a component, not something else).
package source
