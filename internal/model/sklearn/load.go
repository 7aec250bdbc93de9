package sklearn

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"github.com/batchinfer/batchinfer/internal/model"
	"github.com/batchinfer/batchinfer/internal/model/pickle"
)

// Options bound the resources Load may use. Zero fields take the defaults
// stated on each; the defaults suit models up to several hundred megabytes.
type Options struct {
	// MaxDecompressed caps the bytes a compressed joblib file may expand to.
	// Default: 256 MiB or 200 times the compressed size, whichever is larger,
	// up to 8 GiB.
	MaxDecompressed int64
	// MaxObjects caps the number of pickle values (see pickle.Options).
	// Default 1<<22.
	MaxObjects int
}

// Compression formats joblib writes, recognised by their first bytes as
// joblib itself does.
var (
	magicZlib = []byte{0x78}
	magicGzip = []byte{0x1f, 0x8b}
	magicBz2  = []byte("BZh")
	magicXz   = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicLzma = []byte{0x5d, 0x00, 0x00}
	magicLz4  = []byte{0x04, 0x22, 0x4d, 0x18}
	magicZF   = []byte("ZF") // joblib < 0.10
)

// compression returns the name of the compression of data ("" for none).
func compression(data []byte) string {
	switch {
	case bytes.HasPrefix(data, magicGzip):
		return "gzip"
	case bytes.HasPrefix(data, magicBz2):
		return "bz2"
	case bytes.HasPrefix(data, magicXz):
		return "xz"
	case bytes.HasPrefix(data, magicLzma):
		return "lzma"
	case bytes.HasPrefix(data, magicLz4):
		return "lz4"
	case bytes.HasPrefix(data, magicZF):
		return "zf"
	case len(data) >= 2 && data[0] == magicZlib[0] && (uint(data[0])<<8|uint(data[1]))%31 == 0:
		return "zlib"
	}
	return ""
}

func decompressor(kind string, data []byte) (io.Reader, error) {
	r := bytes.NewReader(data)
	switch kind {
	case "zlib":
		return zlib.NewReader(r)
	case "gzip":
		return gzip.NewReader(r)
	case "bz2":
		return bzip2.NewReader(r), nil
	case "xz":
		return xz.NewReader(r)
	case "lzma":
		return lzma.NewReader(r)
	case "lz4":
		return lz4.NewReader(r), nil
	case "zf":
		return nil, unsupportedf("joblib files written before joblib 0.10 (ZF prefix)")
	}
	return r, nil
}

// limitReader returns ErrLimit-style errors once more than n bytes are read.
type limitReader struct {
	r io.Reader
	n int64
}

var errTooLarge = errors.New("decompressed model exceeds the size limit")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// Only an error if there is more to read.
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// IsSklearn reports whether data looks like a pickled or joblib-dumped
// scikit-learn object: a pickle (protocol 2 or above, possibly compressed as
// joblib does) whose first class reference is in the sklearn package. It reads
// at most a few kilobytes and never fails.
func IsSklearn(data []byte) bool {
	kind := compression(data)
	if kind == "zf" {
		return false
	}
	head := data
	if kind != "" {
		r, err := decompressor(kind, data)
		if err != nil {
			return false
		}
		buf := make([]byte, 4096)
		n, _ := io.ReadFull(r, buf)
		head = buf[:n]
	}
	if len(head) < 2 || head[0] != 0x80 || head[1] < 2 || head[1] > 5 {
		return false
	}
	if len(head) > 512 {
		head = head[:512]
	}
	i := bytes.Index(head, []byte("sklearn."))
	// The first class named is the estimator's: nothing else comes first.
	return i >= 0 && !bytes.Contains(head[:i], []byte("numpy"))
}

// LoadFile reads and parses the scikit-learn model at path (see Load).
func LoadFile(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading model %s: %w", path, err)
	}
	m, err := Load(data)
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", path, err)
	}
	return m, nil
}

// Load parses a scikit-learn tree model from the bytes of a pickle file
// (protocols 2 to 5) or a joblib file, plain or compressed with zlib, gzip,
// bz2, lzma, xz or lz4 (detected from the first bytes). Nothing in the file is
// executed: see package pickle.
//
// Errors wrap model.ErrMalformed for invalid input and model.ErrUnsupported
// for valid pickles of something this package does not implement, including
// any pickle that refers to a class or function outside the estimators' own.
func Load(data []byte) (*Model, error) {
	return LoadWithOptions(data, Options{})
}

// LoadWithOptions is Load with explicit resource limits.
func LoadWithOptions(data []byte, opts Options) (*Model, error) {
	kind := compression(data)
	maxOut := opts.MaxDecompressed
	if maxOut <= 0 {
		maxOut = max(256<<20, 200*int64(len(data)))
		maxOut = min(maxOut, 8<<30)
	}
	var in io.Reader
	format := "pickle"
	if kind != "" {
		format = "joblib"
		r, err := decompressor(kind, data)
		if err != nil {
			if errors.Is(err, model.ErrUnsupported) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: reading %s-compressed joblib file: %v", model.ErrMalformed, kind, err)
		}
		in = &limitReader{r: r, n: maxOut}
	} else {
		if len(data) == 0 || data[0] != 0x80 {
			return nil, fmt.Errorf("%w: not a pickle or joblib file (protocol 2 or above)", model.ErrMalformed)
		}
		in = bytes.NewReader(data)
	}
	np := newNumpy()
	sawWrapper := false
	popts := pickle.Options{
		Allow:      allowed,
		MaxObjects: opts.MaxObjects,
		MaxBytes:   maxOut,
		AfterBuild: func(o *pickle.Object, s *pickle.Stream) (any, error) {
			if o.Module == "joblib.numpy_pickle" {
				sawWrapper = true
			}
			return np.readJoblibArray(o, s)
		},
	}
	br := bufio.NewReaderSize(in, 256<<10)
	root, err := pickle.Parse(br, popts)
	if err != nil {
		return nil, pickleError(kind, err)
	}
	if kind != "" {
		// Read to the end so that the stream's checksums are verified.
		if _, err := io.Copy(io.Discard, br); err != nil {
			return nil, pickleError(kind, err)
		}
	}
	if sawWrapper {
		format = "joblib"
	}
	m, err := build(np, root)
	if err != nil {
		return nil, err
	}
	m.info.Format = format
	return m, nil
}

func pickleError(kind string, err error) error {
	what := "pickle"
	if kind != "" {
		what = kind + "-compressed joblib file"
	}
	var fe *pickle.ForbiddenError
	switch {
	case errors.As(err, &fe):
		return fmt.Errorf("%w: pickle references %s.%s, which is not a supported scikit-learn model class", model.ErrUnsupported, fe.Module, fe.Name)
	case errors.Is(err, model.ErrMalformed), errors.Is(err, model.ErrUnsupported):
		return err
	case errors.Is(err, pickle.ErrUnsupported):
		return fmt.Errorf("%w: reading %s: %v", model.ErrUnsupported, what, err)
	case errors.Is(err, pickle.ErrLimit), errors.Is(err, errTooLarge):
		return fmt.Errorf("%w: reading %s: %v", model.ErrUnsupported, what, err)
	}
	return fmt.Errorf("%w: reading %s: %v", model.ErrMalformed, what, err)
}

// allowed is the allow-list of module-level names a model pickle may refer
// to: the supported estimators and the classes their attributes are made of.
// Everything else (os.system, builtins.eval, any other class) stops the parse.
func allowed(module, name string) bool {
	if names, ok := allowList[module]; ok {
		return names[name]
	}
	switch module {
	case "sklearn.ensemble._gb_losses", "sklearn._loss.loss", "sklearn._loss.link":
		// Loss and link classes: plain objects with a few numeric attributes.
		return isIdent(name) && !strings.HasPrefix(name, "_")
	case "sklearn._loss._loss":
		// Cython loss classes and their pickling helpers.
		return strings.HasPrefix(name, "Cy") || strings.HasPrefix(name, "__pyx_unpickle_Cy")
	}
	return false
}

func isIdent(s string) bool {
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

var (
	treeClasses   = set("DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier", "ExtraTreeRegressor")
	forestClasses = set("RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier", "ExtraTreesRegressor")
	gbClasses     = set("GradientBoostingClassifier", "GradientBoostingRegressor")
	hgbClasses    = set("HistGradientBoostingClassifier", "HistGradientBoostingRegressor")
)

var allowList = map[string]map[string]bool{
	"numpy":                  set("ndarray", "dtype"),
	"numpy.core.multiarray":  set("_reconstruct", "scalar"),
	"numpy._core.multiarray": set("_reconstruct", "scalar"),
	"numpy.core.numeric":     set("_frombuffer"),
	"numpy._core.numeric":    set("_frombuffer"),
	// RandomState attributes (random_state=np.random.RandomState(...)).
	"numpy.random._pickle":  set("__randomstate_ctor", "__bit_generator_ctor", "__generator_ctor"),
	"numpy.random._mt19937": set("MT19937"),
	"numpy.random._pcg64":   set("PCG64", "PCG64DXSM"),
	"numpy.random._philox":  set("Philox"),
	"numpy.random._sfc64":   set("SFC64"),
	"joblib.numpy_pickle":   set("NumpyArrayWrapper"),

	"sklearn.tree._tree":                 set("Tree"),
	"sklearn.tree._classes":              treeClasses,
	"sklearn.tree.tree":                  treeClasses, // before 0.22
	"sklearn.ensemble._forest":           forestClasses,
	"sklearn.ensemble.forest":            forestClasses, // before 0.22
	"sklearn.ensemble._gb":               gbClasses,
	"sklearn.ensemble.gradient_boosting": gbClasses, // before 0.22
	"sklearn.ensemble._hist_gradient_boosting.gradient_boosting": hgbClasses,
	"sklearn.ensemble._hist_gradient_boosting.predictor":         set("TreePredictor"),
	"sklearn.ensemble._hist_gradient_boosting.binning":           set("_BinMapper"),
	"sklearn.dummy": set("DummyClassifier", "DummyRegressor"),
}
