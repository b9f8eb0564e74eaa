package enrich

// distinct returns keys without their duplicates, in first-seen order,
// and, when there were duplicates, the index in it of each key (nil when
// every key is distinct: keys itself is returned). The wrappers send the
// host only distinct keys: every key costs kernel-memory traffic (8 bytes
// per host call) both ways, which dwarfs a guest-side map lookup.
func distinct[K ~string | ~[]byte](keys []K) ([]K, []int32) {
	if len(keys) < 2 {
		return keys, nil
	}
	seen := make(map[string]int32, len(keys))
	uniq := make([]K, 0, len(keys))
	idx := make([]int32, len(keys))
	for i, k := range keys {
		j, ok := seen[string(k)]
		if !ok {
			j = int32(len(uniq))
			seen[string(k)] = j
			uniq = append(uniq, k)
		}
		idx[i] = j
	}
	if len(uniq) == len(keys) {
		return keys, nil
	}
	return uniq, idx
}

// expand returns one result per key from the results of the distinct keys
// (see distinct).
func expand[T any](rs []T, idx []int32) []T {
	if idx == nil {
		return rs
	}
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = rs[j]
	}
	return out
}
