package dataset

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// arrowSchemaKey is the footer key under which Arrow writers (pyarrow,
// arrow-go's pqarrow) store the Arrow schema: base64 of an Arrow IPC
// schema message.
const arrowSchemaKey = "ARROW:schema"

// newArrowFileReader is pqarrow.NewFileReader with the stored Arrow schema
// dropped from pf's footer first, so column types come from the Parquet
// schema alone. pqarrow decodes that flatbuffer trusting every length and
// count in it: a corrupt one made it allocate tens of GiB in a plain make
// and the process died (found by FuzzParquet; no allocator or recover can
// stop that). What the stored schema adds does not change what this
// package hands out: dictionary and large strings are read as strings,
// which mapParquetType makes of them anyway; timestamps keep their UTC
// flag from the Parquet logical type.
func newArrowFileReader(pf *file.Reader, props pqarrow.ArrowReadProperties, mem memory.Allocator) (*pqarrow.FileReader, error) {
	for _, kv := range pf.MetaData().KeyValueMetadata() {
		if kv != nil && kv.Key == arrowSchemaKey {
			kv.Key = arrowSchemaKey + " (ignored)"
		}
	}
	return pqarrow.NewFileReader(pf, props, mem)
}

// watchedReaderAt is the byte source of a Parquet reader. It remembers the
// first read error that is not an end of file, so that a failure of the
// arrow decoder can be told apart: with no such error the bytes were read
// and did not decode (ErrMalformed, bad input); with one, the storage
// failed (a network or disk error, worth retrying).
type watchedReaderAt struct {
	src interface {
		io.ReaderAt
		io.Seeker
	}
	mu  sync.Mutex
	err error
}

func (w *watchedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		// Offsets come from the file's metadata: a negative one is the
		// data's fault, not the storage's (not recorded).
		return 0, fmt.Errorf("read at negative offset %d", off)
	}
	n, err := w.src.ReadAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		w.mu.Lock()
		if w.err == nil {
			w.err = err
		}
		w.mu.Unlock()
	}
	return n, err
}

func (w *watchedReaderAt) Seek(offset int64, whence int) (int64, error) {
	return w.src.Seek(offset, whence)
}

// failed returns the first read error, if any (nil-safe).
func (w *watchedReaderAt) failed() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// decodeErr classifies an error of the arrow decoder (what is a prefix of
// the message): the storage's error when a read failed, else the data is
// malformed.
func (w *watchedReaderAt) decodeErr(what string, err error) error {
	if ioErr := w.failed(); ioErr != nil {
		return fmt.Errorf("%s: %w", what, ioErr)
	}
	return fmt.Errorf("%s: %w: %w", what, ErrMalformed, err)
}
