// Command ecs-enrich is the second stage of the reference job: it adds
// enrichment fields to the ECS documents cloudtrail-ecs writes, editing
// each document in place (Record.Edit) rather than rebuilding it:
//
//   - cloud.account.name: cloud.account.id looked up in a table (config
//     accounts_table, key attribute accounts_key), or in the config value
//     account_names ("id=name,id=name") when set;
//   - source.domain: the PTR name of source.ip (DNS);
//   - source.as.number, source.as.organization.name: source.ip in the
//     MMDB database asn_db (GeoLite2-ASN layout);
//   - user.full_name, user.roles: user.name joined with the users table
//     (config users_table, key attribute users_key; item attributes
//     full_name and roles).
//
// It batches: a weir.Prepare function collects the batch's distinct IP
// addresses, account ids and user names, resolves each kind with one host
// call (sdk/go/weir/enrich), and the per-record handler only reads the
// answers. A lookup that fails or finds nothing leaves its field out; the
// first failure of each kind in a batch is logged at warn level.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o
// ecs-enrich.wasm . (make modules). The stage needs capabilities (dns,
// mmdb, tables and/or dynamodb): see
// examples/cloudtrail-ecs/pipeline-enriched.yaml.
package main
