package dataset

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"

	"github.com/batchinfer/batchinfer/internal/storage"
)

// openRaw opens the bytes of a local file, http(s) URL or s3:// object
// (streamed; a read broken mid-way resumes where it stopped).
func openRaw(ctx context.Context, uri string, client *http.Client) (io.ReadCloser, error) {
	kind, p, err := splitURI(uri)
	if err != nil {
		return nil, err
	}
	if kind == s3Object {
		rc, err := storage.Open(ctx, p)
		if err != nil {
			return nil, fromStorage(err)
		}
		return &storageBody{rc}, nil
	}
	if kind == local {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	name := displayName(uri)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, redactErr(err, uri, name)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body.Close()
		return nil, &StatusError{URL: name, StatusCode: resp.StatusCode}
	}
	return &redactingBody{ReadCloser: resp.Body, uri: uri, name: name}, nil
}

type redactingBody struct {
	io.ReadCloser
	uri, name string
}

func (b *redactingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = redactErr(err, b.uri, b.name)
	}
	return n, err
}

// textStream is the decoded byte stream of a CSV or JSON Lines file:
// gzip is undone (recognized by its magic bytes, whatever the name) and a
// UTF-8 byte order mark is dropped.
type textStream struct {
	*bufio.Reader
	closers []io.Closer
}

const textBufSize = 256 << 10

func openText(ctx context.Context, uri string, client *http.Client) (*textStream, error) {
	raw, err := openRaw(ctx, uri, client)
	if err != nil {
		return nil, err
	}
	return newTextStream(raw)
}

// newTextStream decodes raw, which it closes on error or on Close.
func newTextStream(raw io.ReadCloser) (*textStream, error) {
	ts := &textStream{closers: []io.Closer{raw}}
	br := bufio.NewReaderSize(raw, textBufSize)
	head, err := br.Peek(2)
	if err != nil && err != io.EOF {
		ts.Close()
		return nil, err
	}
	if len(head) == 0 {
		ts.Close()
		return nil, fmt.Errorf("file is empty (0 bytes): %w", ErrEmpty)
	}
	if isGzip(head) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			ts.Close()
			return nil, fmt.Errorf("reading gzip header: %w: %w", ErrMalformed, err)
		}
		ts.closers = append(ts.closers, zr)
		br = bufio.NewReaderSize(&gzipErrReader{zr}, textBufSize)
	}
	if bom, _ := br.Peek(3); len(bom) == 3 && bom[0] == 0xEF && bom[1] == 0xBB && bom[2] == 0xBF {
		_, _ = br.Discard(3)
	}
	ts.Reader = br
	return ts, nil
}

// gzipErrReader marks gzip decoding errors as ErrMalformed.
type gzipErrReader struct{ r *gzip.Reader }

func (g *gzipErrReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && (errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF)) {
		err = fmt.Errorf("decompressing gzip: %w: %w", ErrMalformed, err)
	}
	return n, err
}

func (ts *textStream) Close() error {
	var errs []error
	for i := len(ts.closers) - 1; i >= 0; i-- {
		if err := ts.closers[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// openReaderAt opens a local file or an s3:// object for random access (an
// s3:// object through ranged GETs, never downloaded whole); the reader
// satisfies parquet.ReaderAtSeeker through io.NewSectionReader(r, 0,
// r.Size()). http(s) URLs give ErrUnsupportedScheme (download them).
func openReaderAt(ctx context.Context, uri string) (storage.ReaderAt, error) {
	kind, p, err := splitURI(uri)
	if err != nil {
		return nil, err
	}
	if kind == remote {
		return nil, fmt.Errorf("random access to http(s) URLs: %w", ErrUnsupportedScheme)
	}
	ra, err := storage.OpenReaderAt(ctx, p)
	if err != nil {
		return nil, fromStorage(err)
	}
	return &storageReaderAt{ra}, nil
}

// fromStorage makes storage's sentinels match this package's (the message
// is unchanged and storage's sentinels still match).
func fromStorage(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrUnsupportedScheme):
		return err
	case errors.Is(err, storage.ErrNotFound):
		return &storageError{sentinel: ErrNotFound, err: err}
	case errors.Is(err, storage.ErrUnsupportedScheme):
		return &storageError{sentinel: ErrUnsupportedScheme, err: err}
	}
	return err
}

type storageError struct{ sentinel, err error }

func (e *storageError) Error() string   { return e.err.Error() }
func (e *storageError) Unwrap() []error { return []error{e.sentinel, e.err} }

// storageBody and storageReaderAt map the errors of storage readers.
type storageBody struct{ io.ReadCloser }

func (b *storageBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = fromStorage(err)
	}
	return n, err
}

type storageReaderAt struct{ storage.ReaderAt }

func (r *storageReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.ReaderAt.ReadAt(p, off)
	if err != nil && err != io.EOF {
		err = fromStorage(err)
	}
	return n, err
}
