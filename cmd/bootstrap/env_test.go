package main

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/weirhq/weir/host/lambda"
)

// runtimeEnv are variables the platform sets itself; the bootstrap reads
// them (the AWS SDK's region lookup; the HTTP host function, to refuse
// connections to the Lambda Runtime API and the container credentials
// endpoint), and a deployment does not set them.
// GOMEMLIMIT is the Go runtime's own; the bootstrap only reads whether it
// is set (gctune.Tune), and GOGC it no longer reads.
var runtimeEnv = []string{"LAMBDA_TASK_ROOT", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_RUNTIME_API", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "GOMEMLIMIT"}

// TestEnvListed checks that lambda.Env is exactly the set of variables the
// bootstrap reads: every os.Getenv / os.LookupEnv call in the weir
// packages linked into it is found in the source, its argument resolved
// (a string literal or a constant), and compared with lambda.Env. The
// deployment template test (examples/deploy) relies on lambda.Env.
func TestEnvListed(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-json=ImportPath,Dir,GoFiles", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct {
		ImportPath, Dir string
		GoFiles         []string
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(p.ImportPath, "github.com/weirhq/weir/") || p.ImportPath == "github.com/weirhq/weir" {
			pkgs = append(pkgs, p)
		}
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found %d weir packages in the bootstrap's imports", len(pkgs))
	}
	// Constants of every weir package, by package name and by bare name.
	fset := token.NewFileSet()
	files := map[string][]*ast.File{}
	consts := map[string]string{} // "lambda.EnvPipeline" and "EnvPipeline@<import path>"
	for _, p := range pkgs {
		for _, f := range p.GoFiles {
			af, err := parser.ParseFile(fset, filepath.Join(p.Dir, f), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files[p.ImportPath] = append(files[p.ImportPath], af)
			for _, d := range af.Decls {
				gd, ok := d.(*ast.GenDecl)
				if !ok || gd.Tok != token.CONST {
					continue
				}
				for _, sp := range gd.Specs {
					vs := sp.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							if bl, ok := vs.Values[i].(*ast.BasicLit); ok && bl.Kind == token.STRING {
								v, _ := strconv.Unquote(bl.Value)
								consts[af.Name.Name+"."+n.Name] = v
								consts[n.Name+"@"+p.ImportPath] = v
							}
						}
					}
				}
			}
		}
	}
	read := map[string]string{} // name -> where
	for path, afs := range files {
		for _, af := range afs {
			ast.Inspect(af, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) != 1 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "Getenv" && sel.Sel.Name != "LookupEnv") {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "os" {
					return true
				}
				where := fset.Position(call.Pos()).String()
				var name string
				switch a := call.Args[0].(type) {
				case *ast.BasicLit:
					name, _ = strconv.Unquote(a.Value)
				case *ast.SelectorExpr:
					name = consts[a.X.(*ast.Ident).Name+"."+a.Sel.Name]
				case *ast.Ident:
					name = consts[a.Name+"@"+path]
				}
				if name == "" {
					t.Errorf("%s: cannot resolve the variable read here; read it through a constant", where)
					return true
				}
				read[name] = where
				return true
			})
		}
	}
	var got, want []string
	for name := range read {
		if !slices.Contains(runtimeEnv, name) {
			got = append(got, name)
		}
	}
	for _, e := range lambda.Env {
		want = append(want, e.Name)
	}
	sort.Strings(got)
	sort.Strings(want)
	for _, name := range got {
		if !slices.Contains(want, name) {
			t.Errorf("the bootstrap reads %s (%s) but lambda.Env does not list it", name, read[name])
		}
	}
	for _, name := range want {
		if _, ok := read[name]; !ok {
			t.Errorf("lambda.Env lists %s but the bootstrap never reads it", name)
		}
	}
}
