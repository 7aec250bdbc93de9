package scoring

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/batchinfer/batchinfer/internal/bundle"
	"github.com/batchinfer/batchinfer/internal/dataset"
	"github.com/batchinfer/batchinfer/internal/model"
	"github.com/batchinfer/batchinfer/internal/stats"
)

// Expected frequency tables of the demo data, from pandas 1.5.3 (Debian's
// /usr/bin/python3):
//
//	df = pd.read_csv(path, float_precision="round_trip")
//	s.dropna().astype("int64").astype(str).value_counts()
//
// sorted by count (descending) then value, the FreqTable order. Counts are
// exact: the tables must match exactly.
var (
	// train.csv feat_4 (pandas reads it as int64).
	trainFeat4 = freqs("6", 1031, "9", 1027, "4", 1024, "5", 1008, "7", 1004, "1", 993, "8", 993, "0", 984, "3", 975, "2", 961)
	// train.csv feat_4 as float with every 7th value (rows 0, 7, ...) NaN:
	// s = df.feat_4.astype(float); s[::7] = np.nan (1429 NaN).
	trainFeat4Every7thNaN = freqs("6", 889, "9", 880, "4", 869, "5", 862, "1", 855, "7", 853, "8", 853, "3", 850, "0", 835, "2", 825)
	// train.csv labels.
	trainLabels = freqs("1", 5184, "0", 4816)
	// batch.csv feat_4.
	batchFeat4 = freqs("4", 1050, "3", 1024, "1", 1018, "8", 1010, "2", 1002, "5", 999, "0", 988, "7", 988, "9", 986, "6", 935)
	// XGBoost 1.7.4's predicted classes for batch.csv (expected_drift.json:
	// mean 0.1152 over 10,000 rows).
	batchLabels = freqs("0", 8848, "1", 1152)
)

// freqs builds an exact FreqTable from value, count pairs.
func freqs(kv ...any) *stats.FreqTable {
	t := &stats.FreqTable{Exact: true}
	for i := 0; i < len(kv); i += 2 {
		t.Values = append(t.Values, kv[i].(string))
		t.Counts = append(t.Counts, int64(kv[i+1].(int)))
	}
	return t
}

// demoColumn reads one column of a demo CSV as float64 values (CSV numbers
// are float64).
func demoColumn(t *testing.T, file, name string) []float64 {
	t.Helper()
	files, err := dataset.Resolve(t.Context(), []string{filepath.Join(demoDir, file)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := dataset.OpenAll(t.Context(), files, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	idx := r.Schema().FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("%s has no column %s", file, name)
	}
	var out, buf []float64
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		buf, _ = dataset.Float64s(rec.Column(idx[0]), buf)
		out = append(out, buf...)
	}
}

// column builds an arrow column of the given type from float64 values;
// rows where null(i) are nulls.
func column(typ arrow.Type, xs []float64, null func(i int) bool) arrow.Array {
	mem := memory.DefaultAllocator
	switch typ {
	case arrow.INT64:
		b := array.NewInt64Builder(mem)
		defer b.Release()
		for i, x := range xs {
			if null != nil && null(i) {
				b.AppendNull()
				continue
			}
			b.Append(int64(x))
		}
		return b.NewArray()
	default:
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		for i, x := range xs {
			if null != nil && null(i) {
				b.AppendNull()
				continue
			}
			b.Append(x)
		}
		return b.NewArray()
	}
}

// records cuts one column into records of at most size rows.
func records(name string, col arrow.Array, size int) (*arrow.Schema, []arrow.RecordBatch) {
	schema := arrow.NewSchema([]arrow.Field{{Name: name, Type: col.DataType(), Nullable: true}}, nil)
	var out []arrow.RecordBatch
	for lo := 0; lo < col.Len(); lo += size {
		hi := min(lo+size, col.Len())
		s := array.NewSlice(col, int64(lo), int64(hi))
		out = append(out, array.NewRecordBatch(schema, []arrow.Array{s}, int64(hi-lo)))
		s.Release()
	}
	return schema, out
}

func sameTable(t *testing.T, what string, got, want *stats.FreqTable) {
	t.Helper()
	if got == nil || !got.Exact || got.Other != 0 || !slices.Equal(got.Values, want.Values) || !slices.Equal(got.Counts, want.Counts) {
		t.Errorf("%s: frequency table %+v, want %+v", what, got, want)
	}
}

// TestDeclaredIntColumnFrequencyTable: a float64/int64 column declared
// categorical (or categorical in the reference) gets pandas' value counts
// of its integers; an integral float column with NaN or nulls (an int
// column read as float because of missing values) gives the same categories
// as the int column; undeclared numeric columns stay numeric.
func TestDeclaredIntColumnFrequencyTable(t *testing.T) {
	feat4 := demoColumn(t, "train.csv", "feat_4")
	if len(feat4) != 10000 {
		t.Fatalf("read %d rows", len(feat4))
	}
	every7th := func(i int) bool { return i%7 == 0 }
	nanEvery7th := slices.Clone(feat4)
	for i := range nanEvery7th {
		if every7th(i) {
			nanEvery7th[i] = math.NaN()
		}
	}
	catRef := &stats.Dataset{}
	refCol := stats.Column{Kind: stats.KindCategorical, Count: 10000, Freqs: trainFeat4}
	catRef.Set("feat_4", &refCol)
	numRef := &stats.Dataset{}
	numCol := stats.Column{Kind: stats.KindNumeric, Count: 10000, Hist: &stats.Hist{Counts: make([]int64, 20), Edges: stats.ReferenceEdges(0, 9, 20)}}
	numRef.Set("feat_4", &numCol)

	for _, tc := range []struct {
		name     string
		col      arrow.Array
		opt      AccumulatorOptions
		want     *stats.FreqTable // nil: numeric
		wantNaNs int64
	}{
		{"int64 declared", column(arrow.INT64, feat4, nil), AccumulatorOptions{Categorical: []string{"feat_4"}}, trainFeat4, 0},
		{"float64 declared (as read from CSV)", column(arrow.FLOAT64, feat4, nil), AccumulatorOptions{Categorical: []string{"feat_4"}}, trainFeat4, 0},
		{"int64 with nulls", column(arrow.INT64, feat4, every7th), AccumulatorOptions{Categorical: []string{"feat_4"}}, trainFeat4Every7thNaN, 1429},
		{"float64 with NaN", column(arrow.FLOAT64, nanEvery7th, nil), AccumulatorOptions{Categorical: []string{"x", "feat_4"}}, trainFeat4Every7thNaN, 1429},
		{"float64 with nulls", column(arrow.FLOAT64, feat4, every7th), AccumulatorOptions{Categorical: []string{"feat_4"}}, trainFeat4Every7thNaN, 1429},
		{"categorical in the reference", column(arrow.INT64, feat4, nil), AccumulatorOptions{Reference: catRef}, trainFeat4, 0},
		{"declared over a numeric reference", column(arrow.FLOAT64, feat4, nil), AccumulatorOptions{Reference: numRef, Categorical: []string{"feat_4"}}, trainFeat4, 0},
		{"int64 undeclared stays numeric", column(arrow.INT64, feat4, nil), AccumulatorOptions{}, nil, 0},
		{"float64 undeclared stays numeric", column(arrow.FLOAT64, feat4, nil), AccumulatorOptions{Categorical: []string{"feat_0"}}, nil, 0},
		{"numeric reference stays numeric", column(arrow.INT64, feat4, nil), AccumulatorOptions{Reference: numRef}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.col.Release()
			schema, recs := records("feat_4", tc.col, 3000)
			acc := NewAccumulatorWith(schema, tc.opt)
			for _, rec := range recs {
				acc.Add(rec)
				rec.Release()
			}
			if err := acc.NonIntegral(); err != nil {
				t.Errorf("integral column: %v", err)
			}
			c, _ := acc.Dataset().Get("feat_4")
			if tc.want == nil {
				if c.Kind != stats.KindNumeric || c.Hist == nil || c.Count != 10000 {
					t.Errorf("want numeric statistics, got %+v", c)
				}
				return
			}
			if c.Kind != stats.KindCategorical || c.Hist != nil {
				t.Fatalf("want categorical statistics, got %+v", c)
			}
			sameTable(t, tc.name, c.Freqs, tc.want)
			if c.Count != float64(10000-tc.wantNaNs) || c.NaNCount != tc.wantNaNs || c.Unique != 10 ||
				c.Top != tc.want.Values[0] || c.Freq != tc.want.Counts[0] {
				t.Errorf("count %v nan %d unique %d top %q freq %d", c.Count, c.NaNCount, c.Unique, c.Top, c.Freq)
			}
		})
	}
}

// TestDeclaredNonIntegralColumn: a declared float column with a fraction or
// an infinity is reported (registration rejects it) at its first row, and
// still counted under its text.
func TestDeclaredNonIntegralColumn(t *testing.T) {
	for _, tc := range []struct {
		name    string
		xs      []float64
		row     int64
		value   float64
		wantTop string
	}{
		{"fraction", []float64{1, 2, 2.5, 2.5, 2.5, 3.25}, 2, 2.5, "2.5"},
		{"infinity", []float64{1, math.Inf(-1), 1}, 1, math.Inf(-1), "1"},
		{"in a later record", []float64{1, 1, 1, 1, 1, 0.5}, 5, 0.5, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := column(arrow.FLOAT64, tc.xs, nil)
			defer col.Release()
			schema, recs := records("x", col, 4)
			acc := NewAccumulatorWith(schema, AccumulatorOptions{Categorical: []string{"x"}})
			for _, rec := range recs {
				acc.Add(rec)
				rec.Release()
			}
			err := acc.NonIntegral()
			var ni *NonIntegralError
			if !errors.As(err, &ni) || !errors.Is(err, ErrBadParameter) || ni.Column != "x" || ni.Row != tc.row || ni.Value != tc.value {
				t.Fatalf("error %v (%+v)", err, ni)
			}
			if c, _ := acc.Dataset().Get("x"); c.Top != tc.wantTop || c.Count != float64(len(tc.xs)) {
				t.Errorf("statistics %+v", c)
			}
		})
	}
}

// TestCategoricalPartialsMerge: partials of a declared column over any
// split (and through their binary encoding) merge to the table of one pass;
// a partial that describes the column numerically does not merge.
func TestCategoricalPartialsMerge(t *testing.T) {
	feat4 := demoColumn(t, "train.csv", "feat_4")
	opt := AccumulatorOptions{Categorical: []string{"feat_4"}, Bounded: true}
	for _, typ := range []arrow.Type{arrow.INT64, arrow.FLOAT64} {
		col := column(typ, feat4, func(i int) bool { return i%7 == 0 })
		schema, recs := records("feat_4", col, 1000)
		whole := NewAccumulatorWith(schema, opt)
		for _, rec := range recs {
			whole.Add(rec)
		}
		for _, cut := range []int{1, 3, 9} {
			a, b := NewAccumulatorWith(schema, opt), NewAccumulatorWith(schema, opt)
			for i, rec := range recs {
				if i < cut {
					a.Add(rec)
				} else {
					b.Add(rec)
				}
			}
			enc, err := a.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			merged, err := UnmarshalAccumulator(enc)
			if err != nil {
				t.Fatal(err)
			}
			if err := merged.Merge(b); err != nil {
				t.Fatal(err)
			}
			x, _ := whole.Dataset().MarshalJSON()
			y, _ := merged.Dataset().MarshalJSON()
			if string(x) != string(y) || merged.Rows != 10000 {
				t.Errorf("%s, shards of %d and %d records: merged %s\nwant %s", typ, cut, len(recs)-cut, y, x)
			}
			c, _ := merged.Dataset().Get("feat_4")
			sameTable(t, fmt.Sprintf("%s merged", typ), c.Freqs, trainFeat4Every7thNaN)
		}
		numeric := NewAccumulatorWith(schema, AccumulatorOptions{Bounded: true})
		numeric.Add(recs[0])
		if err := whole.Merge(numeric); err == nil || !strings.Contains(err.Error(), "numeric in one and categorical in the other") {
			t.Errorf("merging kinds: %v", err)
		}
		for _, rec := range recs {
			rec.Release()
		}
		col.Release()
	}
}

// TestShardedCategoricalRun: scoring batch.csv in 1 and in 37 shards with
// a categorical reference (feat_4 and the label declared at registration)
// and a run declaration gives identical statistics, whose tables are
// pandas' counts of the batch and of XGBoost's predicted classes; the other
// columns stay numeric over the reference edges.
func TestShardedCategoricalRun(t *testing.T) {
	dir := t.TempDir()
	res, err := RegisterModel(t.Context(), RegisterInput{
		Model:              filepath.Join(demoDir, "model", "model.json"),
		TrainingSet:        []string{filepath.Join(demoDir, "train.csv")},
		LabelColumns:       []string{"labels"},
		CategoricalColumns: []string{"feat_4", "labels"},
		To:                 filepath.Join(dir, "bundle"),
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := bundle.Load(t.Context(), filepath.Join(dir, "bundle"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(l)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := stats.ParseDataset(res.Spec.FeatureStats)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(mustSchema(t, "batch.csv"), m, nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	// The run declares nothing more: the bundle's declaration resolves.
	cats, err := ResolveCategorical(p, m, nil)
	if err != nil || !slices.Equal(cats, []string{"feat_4", "labels"}) {
		t.Fatalf("resolved %v, %v", cats, err)
	}

	batch := filepath.Join(demoDir, "batch.csv")
	one := plan(t, []string{batch}, 1<<40)
	info, _ := os.Stat(batch)
	many := plan(t, []string{batch}, info.Size()/37+1)
	var out [][]byte
	for _, mf := range []*Manifest{one, many} {
		d := t.TempDir()
		chunks := make([]int, len(mf.Shards))
		for i := range mf.Shards {
			r, err := ScoreShard(t.Context(), ShardInput{
				Manifest: mf, Shard: i, Model: m, ResultSet: filepath.Join(d, "prediction"),
				Partials: filepath.Join(d, "_partials"), Reference: ref, CategoricalColumns: cats,
				ChunkRows: 1000, BatchRows: 700,
			})
			if err != nil {
				t.Fatal(err)
			}
			chunks[i] = r.Chunks
		}
		out = append(out, statsJSON(t, d, chunks))
	}
	sameStats(t, fmt.Sprintf("1 vs %d shards", len(many.Shards)), out[0], out[1])
	got, err := stats.ParseDataset(out[1])
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want *stats.FreqTable
	}{{"feat_4", batchFeat4}, {"labels", batchLabels}} {
		c, _ := got.Get(tc.name)
		if c.Kind != stats.KindCategorical {
			t.Fatalf("%s: %+v", tc.name, c)
		}
		sameTable(t, tc.name, c.Freqs, tc.want)
	}
	for _, name := range []string{"feat_0", "feat_1", "feat_2", "feat_3"} {
		c, _ := got.Get(name)
		r, _ := ref.Get(name)
		if c.Kind != stats.KindNumeric || c.Hist == nil || !slices.Equal(c.Hist.Edges, r.Hist.Edges) {
			t.Errorf("%s: want a histogram over the reference edges, got %+v", name, c)
		}
	}
}

func mustSchema(t *testing.T, file string) *arrow.Schema {
	t.Helper()
	m := plan(t, []string{filepath.Join(demoDir, file)}, 1<<40)
	s, err := m.ArrowSchema()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRegisterCategoricalColumns: the declaration is checked, recorded in
// bundle.json in training-column order, and the declared columns' reference
// statistics are pandas' value counts.
func TestRegisterCategoricalColumns(t *testing.T) {
	for _, tc := range []struct {
		name     string
		declared []string
		want     []string // recorded categorical_columns
		err      []string // error substrings; nil: success
	}{
		{"none", nil, nil, nil},
		{"int column and classifier label", []string{"labels", " feat_4 ", "feat_4", ""}, []string{"feat_4", "labels"}, nil},
		{"unknown column", []string{"feat_4", "nope"}, nil, []string{"nope", "not in the training set", "feat_0"}},
		{"non-integral column", []string{"feat_1"}, nil, []string{`"feat_1"`, "non-integral value 2.1582", "row 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			to := filepath.Join(t.TempDir(), "bundle")
			res, err := RegisterModel(t.Context(), RegisterInput{
				Model:              filepath.Join(demoDir, "model", "model.json"),
				TrainingSet:        []string{filepath.Join(demoDir, "train.csv")},
				LabelColumns:       []string{"labels"},
				CategoricalColumns: tc.declared,
				To:                 to,
			})
			if tc.err != nil {
				wantBadParameter(t, err, tc.err)
				if _, statErr := os.Stat(to); !errors.Is(statErr, os.ErrNotExist) {
					t.Errorf("bundle written despite the error: %v", statErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			l, err := bundle.Load(t.Context(), to)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(l.Spec.CategoricalColumns, tc.want) || !slices.Equal(res.Spec.CategoricalColumns, tc.want) {
				t.Errorf("categorical_columns %v, want %v", l.Spec.CategoricalColumns, tc.want)
			}
			ref, err := stats.ParseDataset(l.Spec.FeatureStats)
			if err != nil {
				t.Fatal(err)
			}
			feat4, _ := ref.Get("feat_4")
			labels, _ := ref.Get("labels")
			if tc.want == nil {
				if feat4.Kind != stats.KindNumeric || feat4.Hist == nil || labels.Kind != stats.KindNumeric {
					t.Errorf("undeclared columns must stay numeric: %+v %+v", feat4, labels)
				}
				return
			}
			sameTable(t, "feat_4", feat4.Freqs, trainFeat4)
			sameTable(t, "labels", labels.Freqs, trainLabels)
			if feat4.Count != 10000 || feat4.Unique != 10 || feat4.Top != "6" || feat4.Freq != 1031 {
				t.Errorf("feat_4 %+v", feat4)
			}
			if c, _ := ref.Get("feat_0"); c.Kind != stats.KindNumeric || c.Hist == nil {
				t.Errorf("feat_0 %+v", c)
			}
		})
	}
}

// TestResolveCategorical: run declarations are checked against the result
// set and merged with the bundle's, in result-set order.
func TestResolveCategorical(t *testing.T) {
	p := &Plan{Names: []string{"a", "b", "c"}, Labels: []string{"y"}}
	classifier := &Model{Info: model.Info{NumClasses: 2}, Spec: &bundle.Spec{CategoricalColumns: []string{"b", "not_in_batch"}}}
	regressor := &Model{Info: model.Info{NumClasses: 0}}
	bare := &Model{Info: model.Info{NumClasses: 3}}
	for _, tc := range []struct {
		name     string
		m        *Model
		declared []string
		want     []string
		err      []string
	}{
		{"bundle only", classifier, nil, []string{"b"}, nil},
		{"run and bundle, result-set order", classifier, []string{"c", "a"}, []string{"a", "b", "c"}, nil},
		{"classifier label", classifier, []string{"y"}, []string{"b", "y"}, nil},
		{"blank and duplicate names", bare, []string{" a ", "a", ""}, []string{"a"}, nil},
		{"nothing", bare, nil, nil, nil},
		{"regressor label", regressor, []string{"y"}, nil, []string{`"y"`, "regressor"}},
		{"unknown column", classifier, []string{"nope"}, nil, []string{`"nope"`, "not a result-set column", "a, b, c, y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveCategorical(p, tc.m, tc.declared)
			if tc.err != nil {
				wantBadParameter(t, err, tc.err)
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestRegisterCategoricalChecks covers the declarations RegisterModel
// rejects before describing: a drop column, a regressor's label.
func TestRegisterCategoricalChecks(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "x", Type: arrow.PrimitiveTypes.Float64},
		{Name: "y", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	for _, tc := range []struct {
		name     string
		classes  int
		declared []string
		want     []string
		err      string
	}{
		{"training order", 2, []string{"y", "x"}, []string{"x", "y"}, ""},
		{"drop column", 2, []string{"id"}, nil, "drop column"},
		{"regressor label", 0, []string{"y"}, nil, "regressor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := checkRegisterCategorical(schema, &Model{Info: model.Info{NumClasses: tc.classes}}, tc.declared, []string{"y"}, map[string]bool{"id": true})
			if tc.err != "" {
				if !errors.Is(err, ErrBadParameter) || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// wantBadParameter fails t unless err is an ErrBadParameter whose message
// mentions every word.
func wantBadParameter(t *testing.T, err error, words []string) {
	t.Helper()
	if !errors.Is(err, ErrBadParameter) {
		t.Fatalf("want ErrBadParameter, got %v", err)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}
