package main

import "github.com/weirhq/weir/engine/frame"

// ECS categorization (event.category, event.type) by eventName, after
// Elastic's AWS CloudTrail integration: the table of its "Add ECS
// categorization" step. Every event gets event.type; an event whose name
// is not in the table gets ["info"] and no event.category. The same table
// is bench/baseline's Categories (the tests compare the two).
var (
	catNone = categories("", `["info"]`)
	catAuth = categories(`["authentication"]`, `["info"]`)

	catIAMGroupChange   = categories(`["iam"]`, `["group","change"]`)
	catIAMGroupCreation = categories(`["iam"]`, `["group","creation"]`)
	catIAMGroupDeletion = categories(`["iam"]`, `["group","deletion"]`)
	catIAMGroupInfo     = categories(`["iam"]`, `["group","info"]`)
	catIAMUserChange    = categories(`["iam"]`, `["user","change"]`)
	catIAMUserCreation  = categories(`["iam"]`, `["user","creation"]`)
	catIAMUserDeletion  = categories(`["iam"]`, `["user","deletion"]`)
	catIAMUserInfo      = categories(`["iam"]`, `["user","info"]`)
	catIAMAdminChange   = categories(`["iam"]`, `["admin","change"]`)
	catIAMAdminCreation = categories(`["iam"]`, `["admin","creation"]`)
	catFileCreation     = categories(`["file"]`, `["creation"]`)
	catFileDeletion     = categories(`["file"]`, `["deletion"]`)
)

// categories builds the operations setting event.category (when category
// is not empty) and event.type, both JSON arrays, with the constant
// operations around them (kindAndCloud).
func categories(category, typ string) *frame.Ops {
	return ops(func(o *frame.Ops) {
		kindAndCloud(o, func(o *frame.Ops) {
			if category != "" {
				o.SetJSON("event.category", []byte(category))
			}
			o.SetJSON("event.type", []byte(typ))
		})
	})
}

// categorize returns the categorization operations of an eventName (with
// event.kind before them and event.provider and cloud.* after them).
func categorize(eventName []byte) *frame.Ops {
	switch string(eventName) {
	case "AssumeRole", "ConsoleLogin":
		return catAuth
	case "AddUserToGroup", "AttachGroupPolicy", "DeleteGroupPolicy", "DetachGroupPolicy",
		"PutGroupPolicy", "RemoveUserFromGroup", "UpdateGroup":
		return catIAMGroupChange
	case "CreateGroup":
		return catIAMGroupCreation
	case "DeleteGroup":
		return catIAMGroupDeletion
	case "GetGroup", "GetGroupPolicy", "ListAttachedGroupPolicies", "ListGroupPolicies", "ListGroups":
		return catIAMGroupInfo
	case "AttachUserPolicy", "ChangePassword", "CreateAccessKey", "CreateVirtualMFADevice",
		"DeactivateMFADevice", "DeleteAccessKey", "DeleteSSHPublicKey",
		"DeleteUserPermissionsBoundary", "DeleteUserPolicy", "DeleteVirtualMFADevice",
		"DetachUserPolicy", "EnableMFADevice", "PutUserPermissionsBoundary", "PutUserPolicy",
		"TagUser", "UntagUser", "UpdateAccessKey", "UpdateLoginProfile", "UpdateSSHPublicKey",
		"UpdateUser":
		return catIAMUserChange
	case "CreateUser":
		return catIAMUserCreation
	case "DeleteUser":
		return catIAMUserDeletion
	case "GetUser", "GetUserPolicy", "ListAttachedUserPolicies", "ListGroupsForUser",
		"ListUserPolicies", "ListUsers", "ListUserTags":
		return catIAMUserInfo
	case "SetDefaultPolicyVersion", "SetSecurityTokenServicePreferences",
		"UpdateAccountPasswordPolicy", "UpdateRole":
		return catIAMAdminChange
	case "CreateKeyPair":
		return catIAMAdminCreation
	case "CreateBucket":
		return catFileCreation
	case "DeleteBucket":
		return catFileDeletion
	}
	return catNone
}
