package model

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// ErrUnsupported is wrapped by Load errors for valid model files that use an
// objective, booster or feature this package does not implement.
var ErrUnsupported = errors.New("model: unsupported")

// ErrMalformed is wrapped by Load errors for input that is not a valid model:
// truncated, corrupt or inconsistent bytes.
var ErrMalformed = errors.New("model: malformed")

// Info describes a loaded model. Fields may be added but are never renamed or
// removed.
type Info struct {
	Framework    string   // "xgboost"
	Format       string   // "json" or "ubj"
	Booster      string   // "gbtree", "dart", "gblinear"
	Objective    string   // e.g. "binary:logistic"
	NumFeatures  int      // columns of the input matrix
	FeatureNames []string // may be empty (trained from numpy)
	FeatureTypes []string // may be empty; "float","int","q","c"
	// NumOutputs is the number of columns of PredictMargin output and of
	// Transform output (1, num_class, or num_target); for multi:softmax only,
	// Transform writes PredColumns = 1 column (the class index).
	NumOutputs int
	// NumClasses is 0 for regression and ranking, 2 for binary classification
	// (binary:logistic, binary:logitraw, binary:hinge), K for multi-class.
	NumClasses int
	// PredColumns is the number of columns Transform writes: NumOutputs,
	// except 1 for multi:softmax.
	PredColumns int
	// NumTrees is the number of trees (0 for gblinear).
	NumTrees int
	// Version is the XGBoost version that saved the model, if recorded
	// ([major, minor, patch]; nil when absent).
	Version []int
	// BaseMargin is the starting margin of each output, after the
	// objective's probability-to-margin conversion of base_score.
	BaseMargin []float32
}

// Model is a loaded tree ensemble (or linear booster). It is immutable after
// Load and safe for concurrent use.
type Model struct {
	info Info
	obj  objective

	numFeatures int
	numOutputs  int
	base        []float32 // base margin per output

	// Tree ensemble: all trees' nodes in one array, children adjacent.
	nodes []node
	trees []treeRef
	cats  []uint32 // categorical split sets, see catSet
	vecs  []float32
	vals  []float32 // leaf value per node index (see node)

	// Fast path (forest.go): plain trees re-laid out in heap order; treeRef.heap
	// indexes heaps.
	heaps     []heapTree
	hnodes    []hnode
	hleaves   []float32
	tileFeat  []int32   // features copied into the per-block tiles
	blockRows int       // rows per block on the fast path
	tilePool  sync.Pool // *[]uint32 tile buffers, when wider than the stack buffer
	adaptPool sync.Pool // *adaptBuf for the float64 adapter, for very wide rows

	// gblinear: weights[f*numOutputs+g], bias[g].
	linear []float32
	bias   []float32
}

// Info returns a description of the model. The slices are shared with the
// model and must not be modified.
func (m *Model) Info() Info { return m.info }

// LoadFile reads and parses the XGBoost model at path (see Load).
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

// Load parses an XGBoost model from its bytes, as written by
// Booster.save_model: JSON or UBJSON, detected from the content (a JSON
// document starts with '{' then whitespace or '"'; anything else after '{' is
// taken as UBJSON). The legacy binary format is not supported.
//
// Errors wrap ErrMalformed for invalid input and ErrUnsupported for valid
// models using unimplemented features.
func Load(data []byte) (*Model, error) {
	format, err := detectFormat(data)
	if err != nil {
		return nil, err
	}
	var doc value
	if format == "json" {
		doc, err = parseJSON(data)
	} else {
		doc, err = parseUBJSON(data)
	}
	if err != nil {
		return nil, err
	}
	m, err := buildXGBoost(&doc, len(data))
	if err != nil {
		return nil, err
	}
	m.info.Format = format
	return m, nil
}

func detectFormat(data []byte) (string, error) {
	i := 0
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	if len(data)-i >= 4 && string(data[i:i+4]) == "binf" {
		return "", fmt.Errorf("%w: legacy XGBoost binary model format", ErrUnsupported)
	}
	if i >= len(data) || data[i] != '{' {
		return "", fmt.Errorf("%w: not an XGBoost JSON or UBJSON model (no leading '{')", ErrMalformed)
	}
	if i+1 < len(data) {
		switch data[i+1] {
		case '"', ' ', '\t', '\n', '\r', '}':
			return "json", nil
		}
	}
	if i > 0 {
		return "json", nil
	}
	return "ubj", nil
}

// checkShapes panics with a clear message when the caller's buffers are too
// small; this is a programming error, not a data error.
func (m *Model) checkShapes(nx, rows, nout, width int) {
	if rows < 0 {
		panic(fmt.Sprintf("model: negative row count %d", rows))
	}
	if nx < rows*m.numFeatures {
		panic(fmt.Sprintf("model: input has %d values, want rows*NumFeatures = %d*%d", nx, rows, m.numFeatures))
	}
	if nout < rows*width {
		panic(fmt.Sprintf("model: output has %d values, want rows*%d = %d", nout, width, rows*width))
	}
}
