package engine

import (
	"fmt"
	"strings"
)

// S3StorageClasses are the values of OutputConfig.StorageClass (the S3
// API's StorageClass, December 2026).
var S3StorageClasses = []string{"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
	"GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE", "FSX_OPENZFS"}

// S3ChecksumAlgorithms are the values of OutputConfig.ChecksumAlgorithm.
var S3ChecksumAlgorithms = []string{"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"}

// IsFIFOQueue reports whether an SQS queue URL names a FIFO queue (its
// name ends in ".fifo").
func IsFIFOQueue(queueURL string) bool { return strings.HasSuffix(queueURL, ".fifo") }

// moreOutputProblems checks the output settings of issue #13 (batching,
// assume_role_arn, S3 storage class and checksum, SQS FIFO keys); it
// returns (field, message) pairs.
func (oc OutputConfig) moreOutputProblems() [][2]string {
	var out [][2]string
	bad := func(field, format string, args ...any) {
		out = append(out, [2]string{field, fmt.Sprintf(format, args...)})
	}
	if b := oc.Batch; b != nil {
		if b.Count < 0 {
			bad("batch.count", "must not be negative (got %d)", b.Count)
		}
		if b.Bytes < 0 {
			bad("batch.bytes", "must not be negative (got %d)", b.Bytes)
		}
		if b.Interval < 0 {
			bad("batch.interval", "must not be negative (got %s)", b.Interval)
		}
	}
	for _, fp := range [][2]string{{"batch_key", oc.BatchKey}, {"message_group_key", oc.MessageGroupKey}, {"dedup_key", oc.DedupKey}} {
		field, path := fp[0], fp[1]
		if path != "" && strings.TrimSpace(path) != path {
			bad(field, "a JSON path must not start or end with spaces (got %q)", path)
		}
	}
	if a := oc.AssumeRoleARN; a != "" && (!strings.HasPrefix(a, "arn:") || !strings.Contains(a, ":role/")) {
		bad("assume_role_arn", "must be an IAM role ARN, arn:aws:iam::ACCOUNT:role/NAME (got %q)", a)
	}
	if oc.StorageClass != "" && !contains(S3StorageClasses, oc.StorageClass) {
		bad("storage_class", "must be one of %s (got %q)", strings.Join(S3StorageClasses, ", "), oc.StorageClass)
	}
	if oc.ChecksumAlgorithm != "" && !contains(S3ChecksumAlgorithms, oc.ChecksumAlgorithm) {
		bad("checksum_algorithm", "must be one of %s (got %q)", strings.Join(S3ChecksumAlgorithms, ", "), oc.ChecksumAlgorithm)
	}
	if oc.QueueURL != "" && !IsFIFOQueue(oc.QueueURL) {
		for _, fv := range [][2]string{{"message_group_key", oc.MessageGroupKey}, {"dedup_key", oc.DedupKey}} {
			if fv[1] != "" {
				bad(fv[0], "only used with a FIFO queue (a queue_url ending in .fifo)")
			}
		}
	}
	return out
}
