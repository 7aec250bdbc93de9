package dataset

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

func addSeeds(f *testing.F, pattern string) {
	f.Helper()
	paths, err := filepath.Glob(pattern)
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds for %s: %v", pattern, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(2))
	}
}

// fuzzRead reads data with newReader and checks the records' shape. Errors
// are fine; panics, leaks and inconsistent records are not.
func fuzzRead(t *testing.T, data []byte, batch uint8, format Format) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	opts := Options{BatchRows: int(batch%8) + 1, Alloc: mem}.withDefaults()
	ts, err := newTextStream(io.NopCloser(bytes.NewReader(data)))
	if err != nil {
		return
	}
	var fr fileReader
	if format == CSV {
		fr, err = newCSVReader("fuzz", ts, opts, nil)
	} else {
		fr, err = newJSONLReader("fuzz", ts, opts, nil)
	}
	if err != nil {
		checkErr(t, err)
		return
	}
	r := &stream{ctx: t.Context(), uri: "fuzz", fr: fr}
	defer r.Close()
	if err := readChecked(t, r); err != nil {
		checkErr(t, err)
	}
}

// readChecked reads r to its end, failing t on a record whose schema is
// not the reader's or whose columns are not all NumRows long. It returns
// nil at the end, else the first read error.
func readChecked(t *testing.T, r *stream) error {
	t.Helper()
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if !rec.Schema().Equal(r.Schema()) {
			t.Fatalf("record schema %s, reader schema %s", rec.Schema(), r.Schema())
		}
		for _, col := range rec.Columns() {
			if int64(col.Len()) != rec.NumRows() {
				t.Fatalf("column length %d, record has %d rows", col.Len(), rec.NumRows())
			}
		}
	}
}

// checkErr: every data error is classified.
func checkErr(t *testing.T, err error) {
	t.Helper()
	for _, target := range []error{ErrMalformed, ErrEmpty, ErrUnsupportedFormat} {
		if errors.Is(err, target) {
			return
		}
	}
	t.Fatalf("unclassified error %v", err)
}

func FuzzCSV(f *testing.F) {
	addSeeds(f, "testdata/*.csv")
	f.Add([]byte("a,b\n\"x\ny\",1\n1,2,3\n"), uint8(0))
	f.Add([]byte("\x1f\x8b"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, batch uint8) { fuzzRead(t, data, batch, CSV) })
}

func FuzzJSONL(f *testing.F) {
	addSeeds(f, "testdata/*.jsonl")
	f.Add([]byte("{\"a\":1}\n{\"a\":\"x\",\"b\":[1]}\n"), uint8(0))
	f.Add([]byte("[{\"a\":1}]"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, batch uint8) { fuzzRead(t, data, batch, JSONL) })
}

func FuzzParseInline(f *testing.F) {
	for _, p := range []string{"testdata/inline_objects.json", "testdata/inline_rows.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "a,b")
		f.Add(b, "")
	}
	f.Add([]byte(`[[1,"x",true,null]]`), "a,b,c,d")
	f.Fuzz(func(t *testing.T, data []byte, cols string) {
		var features []string
		if cols != "" {
			features = strings.Split(cols, ",")
		}
		out, err := ParseInline(data, features)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrInlineTooLarge) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		// Whatever ParseInline accepts must read back as JSON Lines.
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		ts, err := newTextStream(io.NopCloser(bytes.NewReader(out)))
		if err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		fr, err := newJSONLReader("inline", ts, Options{BatchRows: MaxInlineRows, Alloc: mem}.withDefaults(), nil)
		if err != nil {
			t.Fatalf("output %q does not read back: %v", out, err)
		}
		r := &stream{ctx: t.Context(), uri: "inline", fr: fr}
		defer r.Close()
		n := 0
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("output %q does not read back: %v", out, err)
			}
			n += int(rec.NumRows())
		}
		if lines := bytes.Count(out, []byte("\n")); n != lines {
			t.Fatalf("read %d rows from %d lines", n, lines)
		}
	})
}

// FuzzParquet opens arbitrary bytes as a local Parquet file and reads every
// record (both the column-wise path for small row groups and the batch
// path). Errors must be classified; panics, leaks and records of the wrong
// shape fail. Seeds are files this package's writer path produces.
func FuzzParquet(f *testing.F) {
	for _, c := range []struct {
		rows  int
		group int64
	}{{5, 2}, {40, 16}, {3, 1 << 20}} {
		rec := sampleRecord(memory.NewGoAllocator(), c.rows)
		f.Add(parquetBytes(f, c.group, rec), uint8(c.rows))
		rec.Release()
	}
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, batch uint8) {
		p := filepath.Join(t.TempDir(), "fuzz.parquet")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		// Buffers must all be released after a clean read. After an
		// error arrow's page reader may keep one it allocated (Go's GC
		// frees it; the worker uses Go's allocator), so the balance is
		// checked only when the whole file read cleanly.
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		opts := Options{BatchRows: int(batch%8) + 1, Alloc: mem}.withDefaults()
		fr, err := openParquet(t.Context(), p, opts)
		if err != nil {
			checkErr(t, err)
			return
		}
		r := &stream{ctx: t.Context(), uri: "fuzz", fr: fr}
		err = readChecked(t, r)
		r.Close()
		if err != nil {
			checkErr(t, err)
			return
		}
		mem.AssertSize(t, 0)
	})
}
