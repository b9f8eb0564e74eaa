// Command cloudtrail-ecs is a weir module that normalizes AWS CloudTrail
// records into Elastic Common Schema (ECS 8.11) documents: every field of
// the reference job that comes from the record itself (see README.md for
// the field table). Enrichment (account names, reverse DNS, ASN, the users
// table) belongs to later stages.
//
// The module declares the paths it reads (views parsed natively by the
// host) and returns an operation list (copies, a digest, the original) that
// the host applies natively; the guest only decides which fields exist and
// derives the few computed ones.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o modules/cloudtrail-ecs/cloudtrail-ecs.wasm ./modules/cloudtrail-ecs
package main
