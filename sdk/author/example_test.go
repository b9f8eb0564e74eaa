package author_test

import (
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sort"

	"github.com/weirhq/weir/sdk/author"
)

// New writes a C module project that builds against the weir checkout
// around the current folder; Build would then turn it into tagger.wasm
// (clang for wasm32-wasi) and Test run its cases.yaml against it.
func ExampleNew() {
	work, err := os.MkdirTemp("", "weir-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	dir := filepath.Join(work, "tagger")
	if err := author.New(io.Discard, "c", "tagger", author.NewOptions{Dir: dir}); err != nil {
		log.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		log.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	fmt.Println(names)
	cases, err := author.LoadCases(filepath.Join(dir, "cases.yaml"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(cases), "cases; the first:", cases[0].Name)
	// Output:
	// [.weir-sdk README.md cases.yaml tagger.c]
	// 4 cases; the first: a write event is tagged, its fields kept in order
}
