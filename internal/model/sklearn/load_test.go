package sklearn

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/batchinfer/batchinfer/internal/model"
	"github.com/batchinfer/batchinfer/internal/model/pickle"
)

func fixtureFiles(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, f := range loadFixtures(t) {
		for _, file := range f.params.Files {
			out = append(out, filepath.Join(f.dir, file))
		}
	}
	return out
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func zlibBytes(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		panic(err) // writing to memory cannot fail
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Pickles that would run code in Python are refused before anything is
// interpreted beyond the reference, with ErrUnsupported naming the culprit.
func TestLoadRefusesCode(t *testing.T) {
	cases := map[string]struct{ data, name string }{
		"os.system":            {"\x80\x02cos\nsystem\nX\x0a\x00\x00\x00touch pwndq\x01\x85R.", "os.system"},
		"posix.system":         {"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x02id\x85R.", "posix.system"},
		"builtins.eval":        {"\x80\x02c__builtin__\neval\nX\x04\x00\x00\x001+1q\x01\x85R.", "builtins.eval"},
		"builtins.exec":        {"\x80\x04\x8c\x08builtins\x8c\x04exec\x93\x8c\x04pass\x85R.", "builtins.exec"},
		"another estimator":    {"\x80\x02csklearn.linear_model._logistic\nLogisticRegression\n)\x81}b.", "sklearn.linear_model._logistic.LogisticRegression"},
		"pipeline":             {"\x80\x02csklearn.pipeline\nPipeline\n)\x81}b.", "sklearn.pipeline.Pipeline"},
		"inside a tree's args": {"\x80\x02csklearn.tree._tree\nTree\ncsubprocess\ncall\n.", "subprocess.call"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			for _, data := range [][]byte{[]byte(c.data), zlibBytes([]byte(c.data))} {
				_, err := Load(data)
				if !errors.Is(err, model.ErrUnsupported) || !strings.Contains(err.Error(), c.name) {
					t.Errorf("Load = %v, want ErrUnsupported naming %s", err, c.name)
				}
			}
		})
	}
	if _, err := os.Stat("pwnd"); err == nil {
		t.Fatal("a pickle ran code")
	}
}

func TestLoadNotAModel(t *testing.T) {
	cases := map[string]struct {
		data string
		want error
	}{
		"empty":             {"", model.ErrMalformed},
		"json":              {`{"learner": {}}`, model.ErrMalformed},
		"protocol 0":        {"(dp0\n.", model.ErrMalformed},
		"a plain dict":      {"\x80\x02}.", model.ErrUnsupported},
		"an int":            {"\x80\x02K\x01.", model.ErrUnsupported},
		"bad zlib":          {"\x78\x9c\x00\x00\x00", model.ErrMalformed},
		"old joblib ZF":     {"ZF0x00000001", model.ErrUnsupported},
		"estimator no dict": {"\x80\x02csklearn.tree._classes\nDecisionTreeRegressor\n)\x81.", model.ErrMalformed},
		"estimator empty":   {"\x80\x02csklearn.tree._classes\nDecisionTreeRegressor\n)\x81}b.", model.ErrMalformed},
		"lz4 garbage":       {"\x04\x22\x4d\x18garbage", model.ErrMalformed},
		"xz garbage":        {"\xfd7zXZ\x00garbage", model.ErrMalformed},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load([]byte(c.data))
			if !errors.Is(err, c.want) {
				t.Errorf("Load = %v, want %v", err, c.want)
			}
		})
	}
}

// Every prefix of a model file is an error (and never a panic); prefixes of
// plain files are ErrMalformed.
func TestLoadTruncated(t *testing.T) {
	files := fixtureFiles(t)
	if testing.Short() {
		files = files[:10]
	}
	for _, path := range files {
		data := mustRead(t, path)
		step := max(1, len(data)/50)
		for n := 0; n < len(data); n += step {
			_, err := Load(data[:n])
			if err == nil {
				t.Fatalf("%s: prefix of %d bytes loaded", path, n)
			}
			if compression(data) == "" && !errors.Is(err, model.ErrMalformed) {
				t.Fatalf("%s: prefix of %d bytes: %v, want ErrMalformed", path, n, err)
			}
		}
	}
}

// A joblib file whose array wrapper claims a huge shape fails without
// allocating it.
func TestLoadAbsurdJoblibShape(t *testing.T) {
	data := mustRead(t, filepath.Join(fixtureRoot, "dt_reg", "model.joblib"))
	// The first wrapper's shape is pickled as a tuple of BININT1 / BININT
	// values; replace the tree's node count (123, "K{") in the first shape
	// tuple with 2^31-1 written as BININT.
	i := bytes.Index(data, []byte("\x8c\x05shape\x94K{\x85"))
	if i < 0 {
		t.Skip("shape tuple not found in fixture")
	}
	bad := append([]byte{}, data[:i]...)
	bad = append(bad, "\x8c\x05shape\x94J\xff\xff\xff\x7f\x85"...)
	bad = append(bad, data[i+len("\x8c\x05shape\x94K{\x85"):]...)
	var before, after runtimeMem
	before.read()
	_, err := Load(bad)
	after.read()
	if !errors.Is(err, model.ErrMalformed) {
		t.Errorf("Load = %v, want ErrMalformed", err)
	}
	if grew := after.total - before.total; grew > 64<<20 {
		t.Errorf("allocated %d bytes", grew)
	}
}

// parseFixture parses a fixture pickle with the loader's options, for tests
// that corrupt the decoded arrays before build.
func parseFixture(t *testing.T, path string) (*numpy, any) {
	t.Helper()
	np := newNumpy()
	v, err := pickle.Parse(bufio.NewReader(bytes.NewReader(mustRead(t, path))), pickle.Options{
		Allow:      allowed,
		AfterBuild: np.readJoblibArray,
	})
	if err != nil {
		t.Fatal(err)
	}
	return np, v
}

// Trees whose structure is not a tree, or that read features out of range,
// are rejected at load time.
func TestLoadCorruptTree(t *testing.T) {
	path := filepath.Join(fixtureRoot, "dt_reg", "model.p4.pkl")
	corrupt := func(t *testing.T, field string, node int, value int64) error {
		np, root := parseFixture(t, path)
		a, _, err := np.attrsOf(root, "estimator")
		if err != nil {
			t.Fatal(err)
		}
		ta, _, err := a.object("tree_")
		if err != nil {
			t.Fatal(err)
		}
		nodes, err := ta.array("nodes")
		if err != nil {
			t.Fatal(err)
		}
		c, ok := nodes.column(field)
		if !ok {
			t.Fatalf("no field %s", field)
		}
		binary.LittleEndian.PutUint64(c.bytes(node), uint64(value))
		_, err = build(np, root)
		return err
	}
	cases := []struct {
		field string
		node  int
		value int64
	}{
		{"left_child", 1, 0}, // cycle back to the root
		{"left_child", 1, 1}, // self loop
		{"right_child", 0, 9999},
		{"feature", 0, 8},
		{"feature", 0, -5},
		{"left_child", 0, -1}, // half a leaf
	}
	for _, c := range cases {
		err := corrupt(t, c.field, c.node, c.value)
		if !errors.Is(err, model.ErrMalformed) {
			t.Errorf("%s[%d] = %d: build = %v, want ErrMalformed", c.field, c.node, c.value, err)
		}
	}
	if err := corrupt(t, "feature", 0, 0); err != nil {
		t.Errorf("harmless change: %v", err)
	}
}

func TestIsSklearn(t *testing.T) {
	for _, path := range fixtureFiles(t) {
		if !IsSklearn(mustRead(t, path)) {
			t.Errorf("IsSklearn(%s) = false", path)
		}
	}
	for _, s := range []string{"", "\x80", "\x80\x02}.", `{"learner":{}}`, "tree\nversion=v4\n", "\x78\x9c", "\x80\x02cnumpy\nndarray\nsklearn."} {
		if IsSklearn([]byte(s)) {
			t.Errorf("IsSklearn(%q) = true", s)
		}
	}
}

func TestLoadDecompressionLimit(t *testing.T) {
	data := mustRead(t, filepath.Join(fixtureRoot, "gb_clf_binary", "model.joblib.z"))
	if _, err := LoadWithOptions(data, Options{MaxDecompressed: 1000}); !errors.Is(err, model.ErrUnsupported) {
		t.Errorf("err = %v, want ErrUnsupported (over the limit)", err)
	}
	if _, err := LoadWithOptions(data, Options{}); err != nil {
		t.Error(err)
	}
}

type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var st runtime.MemStats
	runtime.ReadMemStats(&st)
	m.total = st.TotalAlloc
}
