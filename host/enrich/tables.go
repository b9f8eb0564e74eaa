package enrich

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/weirhq/weir/engine"
)

// localTable is a table file loaded into memory, queried by its key
// attribute through the DynamoDB API (get, query on the key, put).
type localTable struct {
	key   string
	mu    sync.RWMutex
	items map[string][]byte // key value (its text) -> item JSON
}

var (
	tablesMu sync.Mutex
	tables   = map[string]*localTable{} // by absolute path and key: loaded once per process
)

// loadTable loads a JSON (array of items, or object of items by key) or
// CSV (header row) table file, once per process.
func loadTable(tf engine.TableFile) (*localTable, error) {
	path := strings.TrimPrefix(tf.File, "file://")
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	id := abs + "\x00" + tf.Key
	tablesMu.Lock()
	defer tablesMu.Unlock()
	if t, ok := tables[id]; ok {
		return t, nil
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return nil, err
	}
	t := &localTable{key: tf.Key, items: map[string][]byte{}}
	if strings.EqualFold(filepath.Ext(abs), ".csv") {
		err = t.loadCSV(b)
	} else {
		err = t.loadJSON(b)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", abs, err)
	}
	tables[id] = t
	return t, nil
}

func (t *localTable) loadJSON(b []byte) error {
	var v any
	if err := decodeJSON(b, &v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	var items []map[string]any
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return fmt.Errorf("item %d is not an object", i)
			}
			items = append(items, m)
		}
	case map[string]any:
		for k, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return fmt.Errorf("item %q is not an object", k)
			}
			if _, has := m[t.key]; !has {
				m[t.key] = k
			}
			items = append(items, m)
		}
	default:
		return fmt.Errorf("want an array of items or an object of items by key")
	}
	for i, m := range items {
		if err := t.put(m); err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
	}
	return nil
}

func (t *localTable) loadCSV(b []byte) error {
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("no header row")
	}
	head := rows[0]
	for i, row := range rows[1:] {
		m := make(map[string]any, len(head))
		for j, h := range head {
			if j < len(row) && row[j] != "" {
				m[h] = row[j]
			}
		}
		if err := t.put(m); err != nil {
			return fmt.Errorf("row %d: %w", i+2, err)
		}
	}
	return nil
}

// keyText is the text of an item's key attribute (a string or a number).
func (t *localTable) keyText(m map[string]any) (string, error) {
	switch v := m[t.key].(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case nil:
		return "", fmt.Errorf("no key attribute %q", t.key)
	default:
		return "", fmt.Errorf("key attribute %q is a %T, want a string or a number", t.key, v)
	}
}

func (t *localTable) put(m map[string]any) error {
	k, err := t.keyText(m)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.items[k] = itemJSON(m)
	t.mu.Unlock()
	return nil
}

func (t *localTable) get(key map[string]any) Result {
	if len(key) != 1 {
		return errResult("local table: a key has exactly the attribute %q", t.key)
	}
	k, err := t.keyText(key)
	if err != nil {
		return errResult("local table: %v", err)
	}
	t.mu.RLock()
	item, ok := t.items[k]
	t.mu.RUnlock()
	if !ok {
		return notFound
	}
	return okResult(item)
}
