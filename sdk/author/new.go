package author

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

// templates are the module projects New writes, one folder per
// language; files ending in .tmpl are text/templates, cases.yaml.tmpl and
// README.md.tmpl are shared.
//
//go:embed templates
var templates embed.FS

// Languages are the languages New and Build know, in the order "weir new"
// lists them.
var Languages = []string{"go", "rust", "c", "assemblyscript"}

// templateData fills the templates.
type templateData struct {
	Name      string // the module's name (folder and .wasm)
	Lang      string
	SDK       string // absolute path of the weir checkout (its go.mod)
	GoVersion string // the go directive of weir's go.mod
	Ident     string // Name as a C / Rust identifier
}

var moduleName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// NewOptions are the choices of New beyond the language and the name.
type NewOptions struct {
	// Dir is the folder to write (default: the module's name); it must not
	// exist or be empty.
	Dir string
	// SDK is the weir checkout to build against (default: FindSDK's
	// search).
	SDK string
}

// New writes a module project for lang (one of Languages) named name: the
// module's source (a tag-and-drop transform: read-only events dropped,
// the others tagged, edited in place), its build files, cases.yaml (test
// cases for Test), a README, and the SDKFile naming the checkout. Go
// projects get a go.mod with a replace directive to the checkout,
// AssemblyScript projects a package.json that installs its SDK by path
// (npm install), Rust and C projects the SDK's path in their build. It
// writes to w what it wrote and the commands to run next.
func New(w io.Writer, lang, name string, o NewOptions) error {
	dir, sdk := o.Dir, o.SDK
	if !contains(Languages, lang) {
		return fmt.Errorf("new: unknown language %q: use one of %s", lang, strings.Join(Languages, ", "))
	}
	if !moduleName.MatchString(name) {
		return fmt.Errorf("new: module name %q: use lower-case letters, digits, - and _, starting with a letter", name)
	}
	root, err := FindSDK(sdk)
	if err != nil {
		return fmt.Errorf("new: %w", err)
	}
	if dir == "" {
		dir = name
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("new: %s exists and is not empty", dir)
	}
	data := templateData{Name: name, Lang: lang, SDK: root, GoVersion: goVersion(root), Ident: strings.NewReplacer("-", "_").Replace(name)}
	files := map[string]string{ // template -> file written
		"templates/cases.yaml.tmpl": "cases.yaml",
		"templates/README.md.tmpl":  "README.md",
	}
	err = fs.WalkDir(templates, "templates/"+lang, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		out := strings.TrimSuffix(path.Base(p), ".tmpl")
		if strings.HasPrefix(out, "module.") {
			out = name + strings.TrimPrefix(out, "module")
		}
		files[p] = out
		return nil
	})
	if err != nil {
		return fmt.Errorf("new: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("new: %w", err)
	}
	for tp, out := range files {
		src, err := templates.ReadFile(tp)
		if err != nil {
			return fmt.Errorf("new: %w", err)
		}
		t, err := template.New(tp).Parse(string(src))
		if err != nil {
			return fmt.Errorf("new: template %s: %w", tp, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return fmt.Errorf("new: template %s: %w", tp, err)
		}
		if err := os.WriteFile(filepath.Join(dir, out), b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("new: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, SDKFile), []byte(root+"\n"), 0o644); err != nil {
		return fmt.Errorf("new: %w", err)
	}
	fmt.Fprintf(w, "weir: wrote a %s module project in %s (SDK: %s)\n", lang, dir, root)
	fmt.Fprintf(w, "next:\n  cd %s\n", dir)
	if lang == "assemblyscript" {
		fmt.Fprintln(w, "  npm install")
	}
	fmt.Fprintf(w, "  weir build\n  weir test %s.wasm cases.yaml\n", name)
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// isWeirCheckout reports whether dir holds weir's go.mod and its SDKs.
func isWeirCheckout(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil || !bytes.HasPrefix(b, []byte("module github.com/weirhq/weir\n")) {
		return false
	}
	_, err = os.Stat(filepath.Join(dir, "sdk", "ABI.md"))
	return err == nil
}

// FindSDK returns the absolute path of the weir checkout to build
// against: flag, else $WEIR_SDK, else the one named by the current
// folder's SDKFile (written by New), else the checkout around the current
// folder, else around the running executable (the weir binary).
func FindSDK(flag string) (string, error) {
	project := ""
	if b, err := os.ReadFile(SDKFile); err == nil {
		project = strings.TrimSpace(string(b))
	}
	for _, c := range []struct{ dir, what string }{{flag, "--sdk"}, {os.Getenv("WEIR_SDK"), "WEIR_SDK"}, {project, SDKFile}} {
		if c.dir == "" {
			continue
		}
		abs, err := filepath.Abs(c.dir)
		if err != nil {
			return "", err
		}
		if !isWeirCheckout(abs) {
			return "", fmt.Errorf("%s=%s is not a weir checkout (no go.mod of github.com/weirhq/weir with sdk/ABI.md)", c.what, c.dir)
		}
		return abs, nil
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		starts = append(starts, filepath.Dir(exe))
	}
	for _, d := range starts {
		for {
			if isWeirCheckout(d) {
				return d, nil
			}
			up := filepath.Dir(d)
			if up == d {
				break
			}
			d = up
		}
	}
	return "", errors.New("no weir checkout found for the SDK: pass --sdk /path/to/weir or set WEIR_SDK (the folder holding weir's go.mod)")
}

// goVersion returns the go directive of the checkout's go.mod.
func goVersion(root string) string {
	f, err := os.Open(filepath.Join(root, "go.mod"))
	if err != nil {
		return "1.26"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	return "1.26"
}
