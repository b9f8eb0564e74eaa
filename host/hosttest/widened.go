package hosttest

import (
	"github.com/weirhq/weir/engine"
)

// WidenedRecords are synthetic CloudTrail records for the fields the
// normalization gained from Elastic's mapping (issue #9): one per eventName
// in categorized (the names of bench/baseline.Categories, which hosttest
// cannot import), an uncategorized one, identity types (Identity Center
// users, roots, services), related.user deduplication, escapes and empty
// session parts, which the corpora cover only in part. Each has eventTime
// (a CloudTrail event for every implementation) and only strings where
// CloudTrail has strings (the built-ins pipeline copies other types as they
// are: see WidenedNonString). The tests comparing the implementations of
// the job (sdk/compat, cmd/weir's built-ins) run them next to the corpora.
func WidenedRecords(categorized []string) []engine.Record {
	var recs []engine.Record
	add := func(s string) { recs = append(recs, engine.Record{Data: []byte(s)}) }
	for _, name := range categorized {
		add(`{"eventTime":"t","eventName":"` + name + `","eventSource":"iam.amazonaws.com"}`)
	}
	add(`{"eventTime":"t","eventName":"GetObject"}`)
	add(`{"eventTime":"t","eventName":"consolelogin"}`)
	add(`{"eventTime":"t","eventName":"CredentialChallenge","userIdentity":{"type":"IdentityCenterUser","accountId":"1"},"additionalEventData":{"UserName":"jdoe@example.com"}}`)
	add(`{"eventTime":"t","userIdentity":{"type":"Unknown"},"additionalEventData":{"UserName":"x"}}`)
	add(`{"eventTime":"t","userIdentity":{"type":"IdentityCenterUser","userName":"u"},"additionalEventData":{"UserName":"x"}}`)
	add(`{"eventTime":"t","userIdentity":{"type":"Root","principalId":"111122223333"}}`)
	add(`{"eventTime":"t","userIdentity":{"type":"AWSService","invokedBy":"kms.amazonaws.com"},"sourceIPAddress":"kms.amazonaws.com"}`)
	add(`{"eventTime":"t","userIdentity":{"principalId":"AIDA","userName":"alice"},"requestParameters":{"userName":"alice","newUserName":"alice2"},"sourceIPAddress":"2001:db8::1"}`)
	add(`{"eventTime":"t","userIdentity":{"principalId":"AROA:s1","userName":"u1"},"requestParameters":{"userName":"u1","newUserName":"s1"}}`)
	add(`{"eventTime":"t","userIdentity":{"principalId":"AROA:a@b","userName":"a"},"requestParameters":{"userName":"b"}}`)
	add(`{"eventTime":"t","userIdentity":{"principalId":"AROA:@b"},"requestParameters":{"userName":""}}`)
	add(`{"eventTime":"t","userIdentity":{"principalId":"AROA:a@"}}`)
	add(`{"eventTime":"t","userIdentity":{"principalId":"AROA:","userName":"u"}}`)
	add(`{"eventTime":"t","userIdentity":{"userName":"a\"b\\c\u0001\u2028é\n"},"requestParameters":{"userName":"a\"b\\c\u0001\u2028é\n","newUserName":"z"}}`)
	add(`{"eventTime":"t","requestParameters":"not an object","additionalEventData":[1]}`)
	return recs
}

// WidenedNonString is a record holding other types where CloudTrail has
// strings: the modules and baselines skip such values; the built-ins
// pipeline does not (pipeline-builtins.yaml says so).
const WidenedNonString = `{"eventTime":"t","userIdentity":{"principalId":7,"userName":["a"]},"requestParameters":{"userName":{"a":1},"newUserName":null},"additionalEventData":[1]}`
