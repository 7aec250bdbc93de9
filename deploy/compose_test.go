package deploy

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// root is the repository root, where the compose file, the Dockerfile and
// the README live.
const root = ".."

type composeFile struct {
	Name     string             `yaml:"name"`
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

type service struct {
	Image       string         `yaml:"image"`
	Build       any            `yaml:"build"`
	DependsOn   any            `yaml:"depends_on"`
	Environment map[string]any `yaml:"environment"`
	Ports       []string       `yaml:"ports"`
	Volumes     []string       `yaml:"volumes"`
	Entrypoint  any            `yaml:"entrypoint"`
	Command     any            `yaml:"command"`
	Healthcheck map[string]any `yaml:"healthcheck"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// dependsOn lists a service's dependencies with their conditions (the
// short list form has none).
func (s service) dependsOn(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch d := s.DependsOn.(type) {
	case nil:
	case []any:
		for _, n := range d {
			out[n.(string)] = "service_started"
		}
	case map[string]any:
		for n, v := range d {
			cond := "service_started"
			if m, ok := v.(map[string]any); ok && m["condition"] != nil {
				cond = m["condition"].(string)
			}
			out[n] = cond
		}
	default:
		t.Fatalf("depends_on of type %T", d)
	}
	return out
}

// publishes reports whether the service publishes container port p.
func (s service) publishes(p string) bool {
	for _, spec := range s.Ports {
		parts := strings.Split(spec, ":")
		if strings.TrimSuffix(parts[len(parts)-1], "/tcp") == p {
			return true
		}
	}
	return false
}

func (s service) env(name string) string {
	v, ok := s.Environment[name]
	if !ok || v == nil {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	}
	return ""
}

// goModVersion is the version of a module required by go.mod.
func goModVersion(t *testing.T, module string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(module) + `\s+v(\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("go.mod does not require %s", module)
	}
	return string(m[1])
}

func TestComposeServicesAndImages(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{"postgresql", "temporal-schema", "temporal", "temporal-namespace", "temporal-ui", "s3", "s3-bucket", "batchinfer-setup", "worker"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("service %s missing", name)
		}
	}
	// Every image pinned to a tag; the Temporal images match the server
	// and UI versions the Go module is built and tested with.
	server := goModVersion(t, "go.temporal.io/server")
	ui := goModVersion(t, "github.com/temporalio/ui-server/v2")
	want := map[string]string{
		"temporal":           "temporalio/server:" + server,
		"temporal-schema":    "temporalio/admin-tools:" + server,
		"temporal-namespace": "temporalio/admin-tools:" + server,
		"temporal-ui":        "temporalio/ui:" + ui,
		"s3":                 "versity/versitygw:v1.8.0",
	}
	for name, s := range c.Services {
		if s.Image == "" && s.Build == nil {
			t.Errorf("service %s has neither image nor build", name)
		}
		if s.Image != "" && s.Build == nil {
			i := strings.LastIndex(s.Image, ":")
			if i < 0 || strings.Contains(s.Image[i:], "/") || s.Image[i+1:] == "latest" {
				t.Errorf("service %s: image %q is not pinned to a version tag", name, s.Image)
			}
		}
		if w, ok := want[name]; ok && s.Image != w {
			t.Errorf("service %s: image %q, want %q", name, s.Image, w)
		}
	}
	// Dependencies exist and one-shot steps are waited for.
	for name, s := range c.Services {
		for dep, cond := range s.dependsOn(t) {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("service %s depends on unknown service %s", name, dep)
			}
			switch cond {
			case "service_started", "service_completed_successfully":
			case "service_healthy":
				if c.Services[dep].Healthcheck == nil {
					t.Errorf("service %s waits for %s to be healthy, which has no healthcheck", name, dep)
				}
			default:
				t.Errorf("service %s: depends_on condition %q", name, cond)
			}
		}
	}
	chain := map[string]map[string]string{
		"temporal-schema":    {"postgresql": "service_healthy"},
		"temporal":           {"temporal-schema": "service_completed_successfully"},
		"temporal-namespace": {"temporal": "service_healthy"},
		"temporal-ui":        {"temporal": "service_healthy"},
		"batchinfer-setup":   {"temporal-namespace": "service_completed_successfully"},
		"worker":             {"batchinfer-setup": "service_completed_successfully", "s3-bucket": "service_completed_successfully"},
	}
	for name, deps := range chain {
		got := c.Services[name].dependsOn(t)
		for dep, cond := range deps {
			if got[dep] != cond {
				t.Errorf("service %s: depends on %s with %q, want %q", name, dep, got[dep], cond)
			}
		}
	}
	// Ports the README and clients use.
	for name, port := range map[string]string{"temporal": "7233", "temporal-ui": "8080", "s3": "7070", "worker": "9090"} {
		if !c.Services[name].publishes(port) {
			t.Errorf("service %s does not publish port %s", name, port)
		}
	}
	// Named volumes are declared; host folders exist.
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src := strings.Split(v, ":")[0]
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
				continue
			}
			if _, ok := c.Volumes[src]; !ok {
				t.Errorf("service %s mounts undeclared volume %s", name, src)
			}
		}
	}
	// The Temporal server's dynamic config file is the mounted one.
	tmp := c.Services["temporal"]
	if p := tmp.env("DYNAMIC_CONFIG_FILE_PATH"); p != "" {
		if _, err := os.Stat(filepath.Join(root, "deploy", "dynamicconfig", filepath.Base(p))); err != nil {
			t.Errorf("DYNAMIC_CONFIG_FILE_PATH %s: %v", p, err)
		}
	}
	if tmp.env("DB") != "postgres12" || tmp.env("POSTGRES_SEEDS") != "postgresql" {
		t.Errorf("temporal's database: DB=%q POSTGRES_SEEDS=%q", tmp.env("DB"), tmp.env("POSTGRES_SEEDS"))
	}
}

// literals returns the upper-case string literals (environment variable
// names) of the non-test Go files in dir.
func literals(t *testing.T, dir string, into map[string]bool) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`^[A-Z][A-Z0-9_]*[A-Z0-9]$`)
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parsing %s: %v", f, err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && name.MatchString(s) {
					into[s] = true
				}
			}
			return true
		})
	}
}

func goCmd() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go" // not on PATH: exec reports it
}

// workerEnvNames are the environment variable names the worker binary
// reads: the names in the sources of this module's packages linked into
// ./worker, and, for AWS_* names, those of the AWS SDK packages it links
// (the SDK reads the standard credentials variables itself).
func workerEnvNames(t *testing.T) map[string]bool {
	t.Helper()
	cmd := exec.Command(goCmd(), "list", "-deps", "-f", "{{.ImportPath}}\t{{.Dir}}", "./worker")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./worker: %v", err)
	}
	own := map[string]bool{}
	aws := map[string]bool{}
	linked := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		path, dir, _ := strings.Cut(sc.Text(), "\t")
		linked[path] = true
		switch {
		case strings.HasPrefix(path, "github.com/batchinfer/batchinfer/"):
			literals(t, dir, own)
		case strings.HasPrefix(path, "github.com/aws/aws-sdk-go-v2/"):
			literals(t, dir, aws)
		}
	}
	for _, p := range []string{"github.com/batchinfer/batchinfer/platform", "github.com/batchinfer/batchinfer/internal/storage"} {
		if !linked[p] {
			t.Errorf("the worker does not link %s", p)
		}
	}
	for n := range aws {
		if strings.HasPrefix(n, "AWS_") {
			own[n] = true
		}
	}
	return own
}

func TestComposeWorkerEnvironmentIsWhatTheWorkerReads(t *testing.T) {
	c := loadCompose(t)
	names := workerEnvNames(t)
	for _, must := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "BATCHINFER_METRICS_ADDR", "BATCHINFER_LOG_FORMAT", "BATCHINFER_S3_PATH_STYLE", "AWS_ACCESS_KEY_ID"} {
		if !names[must] {
			t.Errorf("the scan of the worker's sources misses %s: the check itself is broken", must)
		}
	}
	for _, svc := range []string{"worker", "batchinfer-setup"} {
		s := c.Services[svc]
		keys := make([]string, 0, len(s.Environment))
		for k := range s.Environment {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !names[k] {
				t.Errorf("service %s sets %s, which the worker/starter never reads", svc, k)
			}
		}
	}
	w := c.Services["worker"]
	for _, k := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "BATCHINFER_S3_PATH_STYLE", "BATCHINFER_METRICS_ADDR"} {
		if w.env(k) == "" {
			t.Errorf("the worker service does not set %s", k)
		}
	}
	// Addresses point at services of the file, on the ports they serve.
	host, port, err := net.SplitHostPort(w.env("TEMPORAL_ADDRESS"))
	if err != nil || host != "temporal" || port != "7233" {
		t.Errorf("TEMPORAL_ADDRESS %q, want temporal:7233", w.env("TEMPORAL_ADDRESS"))
	}
	u, err := url.Parse(w.env("AWS_ENDPOINT_URL_S3"))
	if err != nil || u.Hostname() != "s3" || u.Port() != "7070" {
		t.Errorf("AWS_ENDPOINT_URL_S3 %q, want http://s3:7070", w.env("AWS_ENDPOINT_URL_S3"))
	}
	s3 := c.Services["s3"]
	if s3.env("ROOT_ACCESS_KEY") != w.env("AWS_ACCESS_KEY_ID") || s3.env("ROOT_SECRET_KEY") != w.env("AWS_SECRET_ACCESS_KEY") {
		t.Error("the worker's S3 credentials are not the store's")
	}
	_, mport, err := net.SplitHostPort(w.env("BATCHINFER_METRICS_ADDR"))
	if err != nil || !w.publishes(mport) {
		t.Errorf("BATCHINFER_METRICS_ADDR %q is not the published port", w.env("BATCHINFER_METRICS_ADDR"))
	}
	if c.Services["batchinfer-setup"].env("TEMPORAL_ADDRESS") != w.env("TEMPORAL_ADDRESS") {
		t.Error("setup and worker talk to different servers")
	}
	for _, svc := range []string{"worker", "batchinfer-setup"} {
		if b, _ := c.Services[svc].Build.(string); b != "." {
			t.Errorf("service %s: build %v, want the repository's Dockerfile (.)", svc, c.Services[svc].Build)
		}
	}
	ep, _ := c.Services["batchinfer-setup"].Entrypoint.([]any)
	if len(ep) < 2 || ep[0] != "/usr/local/bin/starter" || ep[1] != "setup" {
		t.Errorf("batchinfer-setup entrypoint %v, want starter setup", ep)
	}
}

// goBuild finds a `go build` command line in text and returns its package
// arguments and its flags without -o and its value.
func goBuild(line string) (pkgs, flags []string, ok bool) {
	i := strings.Index(line, "go build ")
	if i < 0 {
		return nil, nil, false
	}
	fields := strings.Fields(line[i+len("go build "):])
	for j := 0; j < len(fields); j++ {
		f := fields[j]
		switch {
		case f == "&&" || f == ";" || f == "\\" || strings.HasPrefix(f, "#"):
			j = len(fields)
		case f == "-o":
			j++
		case strings.HasPrefix(f, "-o="):
		case strings.HasPrefix(f, "-"):
			flags = append(flags, f)
		case strings.HasPrefix(f, "./"):
			pkgs = append(pkgs, f)
		}
	}
	return pkgs, flags, true
}

func TestDockerfileBuildsWhatTheREADMEBuilds(t *testing.T) {
	df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		dPkgs, dFlags []string
		dEnv          string
		froms         []string
		exposes       []string
		envNames      []string
		entrypoint    string
	)
	for _, l := range strings.Split(string(df), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "FROM "):
			froms = append(froms, strings.Fields(l)[1])
		case strings.HasPrefix(l, "RUN ") && strings.Contains(l, "go build "):
			dPkgs, dFlags, _ = goBuild(l)
			dEnv = l[len("RUN "):strings.Index(l, "go build ")]
		case strings.HasPrefix(l, "EXPOSE "):
			exposes = append(exposes, strings.Fields(l)[1:]...)
		case strings.HasPrefix(l, "ENV "):
			for _, kv := range strings.Fields(l)[1:] {
				envNames = append(envNames, strings.SplitN(kv, "=", 2)[0])
			}
		case strings.HasPrefix(l, "ENTRYPOINT "):
			entrypoint = l
		}
	}
	if len(froms) < 2 || froms[0] != "golang:1.26" {
		t.Errorf("stages %v: want a golang:1.26 build stage and a runtime stage", froms)
	}
	if !slices.Equal(dPkgs, []string{"./worker", "./starter"}) {
		t.Fatalf("the Dockerfile builds %v, want ./worker ./starter", dPkgs)
	}
	if !strings.Contains(entrypoint, "/usr/local/bin/worker") {
		t.Errorf("entrypoint %q, want the worker", entrypoint)
	}
	// The README shows the same command: same packages, flags and
	// environment (the output folder aside).
	found := false
	for _, l := range strings.Split(string(readme), "\n") {
		pkgs, flags, ok := goBuild(l)
		if !ok || !slices.Equal(pkgs, dPkgs) {
			continue
		}
		found = true
		if !slices.Equal(flags, dFlags) {
			t.Errorf("README builds with flags %v, the Dockerfile with %v", flags, dFlags)
		}
		if env := strings.TrimSpace(l[:strings.Index(l, "go build ")]); env != strings.TrimSpace(dEnv) {
			t.Errorf("README builds with %q, the Dockerfile with %q", env, dEnv)
		}
	}
	if !found {
		t.Errorf("README.md shows no `go build ... ./worker ./starter` command")
	}
	names := workerEnvNames(t)
	for _, n := range envNames {
		if !names[n] {
			t.Errorf("the Dockerfile sets %s, which the worker never reads", n)
		}
	}
	c := loadCompose(t)
	for _, p := range exposes {
		if !c.Services["worker"].publishes(p) {
			t.Errorf("the image exposes %s, which the compose worker does not publish", p)
		}
	}
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, needed := range []string{"examples", "go.mod", "worker", "starter", "internal"} {
		for _, l := range strings.Split(string(ignore), "\n") {
			if strings.TrimSpace(l) == needed {
				t.Errorf(".dockerignore drops %s, which the build needs", needed)
			}
		}
	}
}
