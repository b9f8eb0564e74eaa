// Package baseline holds two native Go implementations of the reference job
// (one CloudTrail record in, one ECS document out) so the cloudtrail-ecs Wasm
// module can be benchmarked against them in the same process.
//
//   - GJSON works the way Substation does: one gjson Get and one sjson Set per
//     output field, growing the output document one Set at a time.
//   - Structs decodes the record into a typed struct with encoding/json and
//     marshals a typed ECS struct.
//
// Both produce every field of the reference document that comes from the
// record itself, and none of the enrichment fields (cloud.account.name,
// source.domain, source.as.*, user.full_name, user.roles). Their outputs are
// equal as JSON, not necessarily byte for byte. Key order follows the
// reference document: @timestamp, event, cloud, source, tls, user, user_agent.
//
// Field rules, for any CloudTrail record:
//
//   - @timestamp, event.action, event.id, cloud.region, user_agent.original,
//     tls.cipher, tls.client.server_name are copied from eventTime, eventName,
//     eventID, awsRegion, userAgent, tlsDetails.cipherSuite and
//     tlsDetails.clientProvidedHostHeader.
//   - event.hash is the hex SHA-256 of the record bytes exactly as passed in;
//     event.original is those bytes as a string. Callers frame records: a
//     line's terminating newline is not part of the record.
//   - event.outcome is "failure" when errorCode or errorMessage is a non-empty
//     string, else responseElements.ConsoleLogin lower-cased when it is a
//     non-empty string, else "success".
//   - cloud.provider is "aws"; cloud.account.id is userIdentity.accountId, or
//     recipientAccountId when that is absent; cloud.service.name is
//     eventSource without the ".amazonaws.com" suffix.
//   - source.ip is sourceIPAddress, copied as is, only when it parses as an IP
//     address (net/netip); CloudTrail also puts service host names such as
//     "ec2.amazonaws.com" and "AWS Internal" there, which are dropped.
//   - tls.version_protocol and tls.version come from splitting
//     tlsDetails.tlsVersion at its first 'v' ("TLSv1.3" gives "tls" and
//     "1.3"); a value without a 'v' gives neither.
//   - user.*: the session name is what follows the first ':' of
//     userIdentity.principalId. If it contains '@', user.email is the whole
//     session name, user.name the part before the first '@' and user.domain
//     the part after it; otherwise user.name is the session name. When
//     principalId has no ':' (or is absent), user.name is
//     userIdentity.userName, and for an Identity Center user
//     (userIdentity.type "IdentityCenterUser") without either,
//     additionalEventData.UserName. user.id is userIdentity.principalId.
//   - event.kind is "event"; event.provider is eventSource as is;
//     event.category and event.type come from Categories by eventName (after
//     Elastic's AWS CloudTrail integration); a name not in the table gets
//     event.type ["info"] and no event.category.
//   - related.user lists user.name, userIdentity.userName,
//     requestParameters.userName and requestParameters.newUserName, each
//     non-empty value once, in that order; related.ip is [source.ip].
//
// Key order: @timestamp, event (action, id, hash, original, outcome, kind,
// category, type, provider), cloud, source, tls, user (email, name, domain,
// id), user_agent, related (user, ip).
//
// Only JSON strings are taken from the record: a field that is absent, null,
// of another type or the empty string yields no output field, so the output
// holds no nulls, no empty strings and no empty objects. Keys match exactly
// (CloudTrail keys are case-sensitive); see ctCaseGuard for how Structs is
// kept from encoding/json's case-insensitive matching.
//
// Both functions return an error when the record is not a single valid JSON
// object.
package baseline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// ErrNotObject is returned when a record is not one valid JSON object.
var ErrNotObject = errors.New("baseline: record is not a valid JSON object")

// ---------------------------------------------------------------------------
// Derivations shared by both baselines. They work on strings already taken
// out of the record, so the two baselines differ only in how they read the
// record and write the document.

const awsServiceSuffix = ".amazonaws.com"

// isObject reports whether the first non-blank byte of b opens an object.
func isObject(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}

func hashHex(record []byte) string {
	sum := sha256.Sum256(record)
	return hex.EncodeToString(sum[:])
}

// outcome applies the event.outcome rule. errMessage and consoleLogin are
// functions so that a caller reading fields lazily only reads what it needs.
func outcome(errCode string, errMessage, consoleLogin func() string) string {
	if errCode != "" || errMessage() != "" {
		return "failure"
	}
	if v := consoleLogin(); v != "" {
		return strings.ToLower(v)
	}
	return "success"
}

func serviceName(eventSource string) string {
	return strings.TrimSuffix(eventSource, awsServiceSuffix)
}

// sourceIP returns s when it is an IP address, else "".
func sourceIP(s string) string {
	if s == "" {
		return ""
	}
	if _, err := netip.ParseAddr(s); err != nil {
		return ""
	}
	return s
}

// splitTLSVersion splits "TLSv1.3" into "tls" and "1.3".
func splitTLSVersion(v string) (protocol, version string) {
	p, ver, ok := strings.Cut(v, "v")
	if !ok {
		return "", ""
	}
	return strings.ToLower(p), ver
}

// splitPrincipal applies the user.* rule. userName is only consulted when
// principalId has no ':', identityCenterName when userName is empty too.
func splitPrincipal(principalID string, userName, identityCenterName func() string) (email, name, domain string) {
	_, session, ok := strings.Cut(principalID, ":")
	if !ok {
		if n := userName(); n != "" {
			return "", n, ""
		}
		return "", identityCenterName(), ""
	}
	if local, dom, at := strings.Cut(session, "@"); at {
		return session, local, dom
	}
	return "", session, ""
}

// identityCenterUser is the userIdentity.type of IAM Identity Center users.
const identityCenterUser = "IdentityCenterUser"

// relatedUsers returns the non-empty values of users, each once, in order.
func relatedUsers(users ...string) []string {
	var out []string
	for _, u := range users {
		if u != "" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// Category is the ECS categorization of an event.
type Category struct {
	Category []string // event.category; nil: none
	Type     []string // event.type
}

// uncategorized is the categorization of a name not in Categories.
var uncategorized = Category{Type: []string{"info"}}

// Categories maps CloudTrail eventNames to their ECS categorization, after
// the table of Elastic's AWS CloudTrail integration (ingest pipeline,
// "Add ECS categorization"). Every implementation of the job carries this
// table; the tests compare them with it.
var Categories = func() map[string]Category {
	m := map[string]Category{}
	add := func(category, typ string, names ...string) {
		c := Category{Category: strings.Split(category, ","), Type: strings.Split(typ, ",")}
		for _, n := range names {
			m[n] = c
		}
	}
	add("authentication", "info", "AssumeRole", "ConsoleLogin")
	add("iam", "group,change", "AddUserToGroup", "AttachGroupPolicy", "DeleteGroupPolicy",
		"DetachGroupPolicy", "PutGroupPolicy", "RemoveUserFromGroup", "UpdateGroup")
	add("iam", "group,creation", "CreateGroup")
	add("iam", "group,deletion", "DeleteGroup")
	add("iam", "group,info", "GetGroup", "GetGroupPolicy", "ListAttachedGroupPolicies",
		"ListGroupPolicies", "ListGroups")
	add("iam", "user,change", "AttachUserPolicy", "ChangePassword", "CreateAccessKey",
		"CreateVirtualMFADevice", "DeactivateMFADevice", "DeleteAccessKey", "DeleteSSHPublicKey",
		"DeleteUserPermissionsBoundary", "DeleteUserPolicy", "DeleteVirtualMFADevice",
		"DetachUserPolicy", "EnableMFADevice", "PutUserPermissionsBoundary", "PutUserPolicy",
		"TagUser", "UntagUser", "UpdateAccessKey", "UpdateLoginProfile", "UpdateSSHPublicKey",
		"UpdateUser")
	add("iam", "user,creation", "CreateUser")
	add("iam", "user,deletion", "DeleteUser")
	add("iam", "user,info", "GetUser", "GetUserPolicy", "ListAttachedUserPolicies",
		"ListGroupsForUser", "ListUserPolicies", "ListUsers", "ListUserTags")
	add("iam", "admin,change", "SetDefaultPolicyVersion", "SetSecurityTokenServicePreferences",
		"UpdateAccountPasswordPolicy", "UpdateRole")
	add("iam", "admin,creation", "CreateKeyPair")
	add("file", "creation", "CreateBucket")
	add("file", "deletion", "DeleteBucket")
	return m
}()

// categorize returns the categorization of an eventName.
func categorize(eventName string) Category {
	if c, ok := Categories[eventName]; ok {
		return c
	}
	return uncategorized
}

// ---------------------------------------------------------------------------
// GJSON

// sjson paths of the output fields. '@' is a modifier character in
// gjson/sjson paths and must be escaped: an unescaped "@timestamp" makes
// sjson return an empty document and no error.
const (
	pTimestamp     = `\@timestamp`
	pAction        = "event.action"
	pID            = "event.id"
	pHash          = "event.hash"
	pOriginal      = "event.original"
	pOutcome       = "event.outcome"
	pAccountID     = "cloud.account.id"
	pProvider      = "cloud.provider"
	pRegion        = "cloud.region"
	pService       = "cloud.service.name"
	pSourceIP      = "source.ip"
	pTLSCipher     = "tls.cipher"
	pTLSVersion    = "tls.version"
	pTLSProtocol   = "tls.version_protocol"
	pTLSServerName = "tls.client.server_name"
	pUserEmail     = "user.email"
	pUserName      = "user.name"
	pUserDomain    = "user.domain"
	pUserAgent     = "user_agent.original"
	pKind          = "event.kind"
	pCategory      = "event.category"
	pType          = "event.type"
	pEventProvider = "event.provider"
	pUserID        = "user.id"
	pRelatedUser   = "related.user"
	pRelatedIP     = "related.ip"
)

var rawAWS = []byte(`"aws"`)

// gjsonDoc is the growing output document of GJSON.
type gjsonDoc struct {
	record []byte
	out    []byte
	err    error
}

// get returns the string at path in the record, or "" when it is absent or
// not a string.
func (d *gjsonDoc) get(path string) string {
	r := gjson.GetBytes(d.record, path)
	if r.Type != gjson.String {
		return ""
	}
	return r.Str
}

// set stores a non-empty string at path in the output.
func (d *gjsonDoc) set(path, v string) {
	if v == "" || d.err != nil {
		return
	}
	d.out, d.err = sjson.SetBytes(d.out, path, v)
}

// setStrings stores a non-empty array of strings at path in the output.
func (d *gjsonDoc) setStrings(path string, v []string) {
	if len(v) == 0 || d.err != nil {
		return
	}
	d.out, d.err = sjson.SetBytes(d.out, path, v)
}

func (d *gjsonDoc) setRaw(path string, raw []byte) {
	if d.err != nil {
		return
	}
	d.out, d.err = sjson.SetRawBytes(d.out, path, raw)
}

// GJSON normalizes one CloudTrail record into an ECS document with one gjson
// Get and one sjson Set per field, the way Substation does.
func GJSON(record []byte) ([]byte, error) {
	if !isObject(record) || !gjson.ValidBytes(record) {
		return nil, ErrNotObject
	}
	d := gjsonDoc{record: record}

	d.set(pTimestamp, d.get("eventTime"))

	d.set(pAction, d.get("eventName"))
	d.set(pID, d.get("eventID"))
	d.set(pHash, hashHex(record))
	d.set(pOriginal, string(record))
	d.set(pOutcome, outcome(d.get("errorCode"),
		func() string { return d.get("errorMessage") },
		func() string { return d.get("responseElements.ConsoleLogin") }))
	d.set(pKind, "event")
	eventSource := d.get("eventSource")
	category := categorize(d.get("eventName"))
	d.setStrings(pCategory, category.Category)
	d.setStrings(pType, category.Type)
	d.set(pEventProvider, eventSource)

	account := d.get("userIdentity.accountId")
	if account == "" {
		account = d.get("recipientAccountId")
	}
	d.set(pAccountID, account)
	d.setRaw(pProvider, rawAWS)
	d.set(pRegion, d.get("awsRegion"))
	d.set(pService, serviceName(eventSource))

	ip := sourceIP(d.get("sourceIPAddress"))
	d.set(pSourceIP, ip)

	d.set(pTLSCipher, d.get("tlsDetails.cipherSuite"))
	protocol, version := splitTLSVersion(d.get("tlsDetails.tlsVersion"))
	d.set(pTLSVersion, version)
	d.set(pTLSProtocol, protocol)
	d.set(pTLSServerName, d.get("tlsDetails.clientProvidedHostHeader"))

	principalID, userName := d.get("userIdentity.principalId"), d.get("userIdentity.userName")
	email, name, domain := splitPrincipal(principalID,
		func() string { return userName },
		func() string {
			if d.get("userIdentity.type") != identityCenterUser {
				return ""
			}
			return d.get("additionalEventData.UserName")
		})
	d.set(pUserEmail, email)
	d.set(pUserName, name)
	d.set(pUserDomain, domain)
	d.set(pUserID, principalID)

	d.set(pUserAgent, d.get("userAgent"))

	d.setStrings(pRelatedUser, relatedUsers(name, userName,
		d.get("requestParameters.userName"), d.get("requestParameters.newUserName")))
	if ip != "" {
		d.setStrings(pRelatedIP, []string{ip})
	}

	if d.err != nil {
		return nil, d.err
	}
	return d.out, nil
}

// ---------------------------------------------------------------------------
// Structs

// caseGuard is the type of the decoy fields of ctCaseGuard: it accepts any
// JSON value and keeps nothing.
type caseGuard struct{}

func (*caseGuard) UnmarshalJSON([]byte) error { return nil }

// ctCaseGuard keeps encoding/json from matching record keys
// case-insensitively, which gjson (and CloudTrail) do not do: some records
// in the wild carry "eventname", "useridentity", ... next to or instead of
// the real keys. encoding/json looks a key up by exact name first, then by
// case-folded name, and for the folded lookup the first field in declaration
// order wins. Embedded first, each decoy below folds like one real field and
// so takes every key that differs from the real one only in case. Keys with
// the exact real spelling still reach the real fields. A decoy costs nothing
// unless such a key is present.
type ctCaseGuard struct {
	GuardEventTime          caseGuard `json:"EVENTTIME"`
	GuardEventName          caseGuard `json:"EVENTNAME"`
	GuardEventID            caseGuard `json:"EVENTID"`
	GuardEventSource        caseGuard `json:"EVENTSOURCE"`
	GuardAWSRegion          caseGuard `json:"AWSREGION"`
	GuardSourceIPAddress    caseGuard `json:"SOURCEIPADDRESS"`
	GuardUserAgent          caseGuard `json:"USERAGENT"`
	GuardErrorCode          caseGuard `json:"ERRORCODE"`
	GuardErrorMessage       caseGuard `json:"ERRORMESSAGE"`
	GuardRecipientAccountID caseGuard `json:"RECIPIENTACCOUNTID"`
	GuardUserIdentity       caseGuard `json:"USERIDENTITY"`
	GuardResponseElements   caseGuard `json:"RESPONSEELEMENTS"`
	GuardTLSDetails         caseGuard `json:"TLSDETAILS"`
	GuardAdditionalData     caseGuard `json:"ADDITIONALEVENTDATA"`
	GuardRequestParameters  caseGuard `json:"REQUESTPARAMETERS"`
}

// ctRecord holds the CloudTrail fields the job reads.
type ctRecord struct {
	ctCaseGuard

	EventTime          string `json:"eventTime"`
	EventName          string `json:"eventName"`
	EventID            string `json:"eventID"`
	EventSource        string `json:"eventSource"`
	AWSRegion          string `json:"awsRegion"`
	SourceIPAddress    string `json:"sourceIPAddress"`
	UserAgent          string `json:"userAgent"`
	ErrorCode          string `json:"errorCode"`
	ErrorMessage       string `json:"errorMessage"`
	RecipientAccountID string `json:"recipientAccountId"`

	UserIdentity struct {
		GuardAccountID   caseGuard `json:"ACCOUNTID"`
		GuardPrincipalID caseGuard `json:"PRINCIPALID"`
		GuardUserName    caseGuard `json:"USERNAME"`
		GuardType        caseGuard `json:"TYPE"`

		AccountID   string `json:"accountId"`
		PrincipalID string `json:"principalId"`
		UserName    string `json:"userName"`
		Type        string `json:"type"`
	} `json:"userIdentity"`

	AdditionalEventData struct {
		GuardUserName caseGuard `json:"USERNAME"`

		UserName string `json:"UserName"`
	} `json:"additionalEventData"`

	RequestParameters struct {
		GuardUserName    caseGuard `json:"USERNAME"`
		GuardNewUserName caseGuard `json:"NEWUSERNAME"`

		UserName    string `json:"userName"`
		NewUserName string `json:"newUserName"`
	} `json:"requestParameters"`

	ResponseElements struct {
		GuardConsoleLogin caseGuard `json:"CONSOLELOGIN"`

		ConsoleLogin string `json:"ConsoleLogin"`
	} `json:"responseElements"`

	TLSDetails struct {
		GuardTLSVersion               caseGuard `json:"TLSVERSION"`
		GuardCipherSuite              caseGuard `json:"CIPHERSUITE"`
		GuardClientProvidedHostHeader caseGuard `json:"CLIENTPROVIDEDHOSTHEADER"`

		TLSVersion               string `json:"tlsVersion"`
		CipherSuite              string `json:"cipherSuite"`
		ClientProvidedHostHeader string `json:"clientProvidedHostHeader"`
	} `json:"tlsDetails"`
}

// ecsDoc is the output document. omitempty drops empty strings, omitzero
// drops objects whose fields are all empty.
type ecsDoc struct {
	Timestamp string `json:"@timestamp,omitempty"`
	Event     struct {
		Action   string   `json:"action,omitempty"`
		ID       string   `json:"id,omitempty"`
		Hash     string   `json:"hash,omitempty"`
		Original string   `json:"original,omitempty"`
		Outcome  string   `json:"outcome,omitempty"`
		Kind     string   `json:"kind"`
		Category []string `json:"category,omitempty"`
		Type     []string `json:"type"`
		Provider string   `json:"provider,omitempty"`
	} `json:"event"`
	Cloud struct {
		Account struct {
			ID string `json:"id,omitempty"`
		} `json:"account,omitzero"`
		Provider string `json:"provider"`
		Region   string `json:"region,omitempty"`
		Service  struct {
			Name string `json:"name,omitempty"`
		} `json:"service,omitzero"`
	} `json:"cloud"`
	Source struct {
		IP string `json:"ip,omitempty"`
	} `json:"source,omitzero"`
	TLS struct {
		Cipher          string `json:"cipher,omitempty"`
		Version         string `json:"version,omitempty"`
		VersionProtocol string `json:"version_protocol,omitempty"`
		Client          struct {
			ServerName string `json:"server_name,omitempty"`
		} `json:"client,omitzero"`
	} `json:"tls,omitzero"`
	User struct {
		Email  string `json:"email,omitempty"`
		Name   string `json:"name,omitempty"`
		Domain string `json:"domain,omitempty"`
		ID     string `json:"id,omitempty"`
	} `json:"user,omitzero"`
	UserAgent struct {
		Original string `json:"original,omitempty"`
	} `json:"user_agent,omitzero"`
	Related struct {
		User []string `json:"user,omitempty"`
		IP   []string `json:"ip,omitempty"`
	} `json:"related,omitzero"`
}

// Structs normalizes one CloudTrail record into an ECS document by decoding
// it into a typed struct with encoding/json and marshaling a typed ECS
// struct.
func Structs(record []byte) ([]byte, error) {
	if !isObject(record) {
		return nil, ErrNotObject
	}
	var in ctRecord
	if err := json.Unmarshal(record, &in); err != nil {
		// A field of an unexpected type (say "eventTime": 1) is left empty,
		// as gjson's String check does; encoding/json keeps decoding the
		// rest and reports the first such field at the end.
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			return nil, err
		}
	}

	var out ecsDoc
	out.Timestamp = in.EventTime

	out.Event.Action = in.EventName
	out.Event.ID = in.EventID
	out.Event.Hash = hashHex(record)
	out.Event.Original = string(record)
	out.Event.Outcome = outcome(in.ErrorCode,
		func() string { return in.ErrorMessage },
		func() string { return in.ResponseElements.ConsoleLogin })
	out.Event.Kind = "event"
	category := categorize(in.EventName)
	out.Event.Category, out.Event.Type = category.Category, category.Type
	out.Event.Provider = in.EventSource

	out.Cloud.Account.ID = in.UserIdentity.AccountID
	if out.Cloud.Account.ID == "" {
		out.Cloud.Account.ID = in.RecipientAccountID
	}
	out.Cloud.Provider = "aws"
	out.Cloud.Region = in.AWSRegion
	out.Cloud.Service.Name = serviceName(in.EventSource)

	out.Source.IP = sourceIP(in.SourceIPAddress)

	out.TLS.Cipher = in.TLSDetails.CipherSuite
	out.TLS.VersionProtocol, out.TLS.Version = splitTLSVersion(in.TLSDetails.TLSVersion)
	out.TLS.Client.ServerName = in.TLSDetails.ClientProvidedHostHeader

	out.User.Email, out.User.Name, out.User.Domain = splitPrincipal(in.UserIdentity.PrincipalID,
		func() string { return in.UserIdentity.UserName },
		func() string {
			if in.UserIdentity.Type != identityCenterUser {
				return ""
			}
			return in.AdditionalEventData.UserName
		})
	out.User.ID = in.UserIdentity.PrincipalID

	out.UserAgent.Original = in.UserAgent

	out.Related.User = relatedUsers(out.User.Name, in.UserIdentity.UserName,
		in.RequestParameters.UserName, in.RequestParameters.NewUserName)
	if out.Source.IP != "" {
		out.Related.IP = []string{out.Source.IP}
	}

	return json.Marshal(&out)
}
