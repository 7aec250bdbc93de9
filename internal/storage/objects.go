package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Info describes one object.
type Info struct {
	URI     string
	Size    int64 // bytes; -1 when unknown
	ModTime time.Time
}

// Stat describes the object at uri.
func Stat(ctx context.Context, uri string) (Info, error) {
	switch Scheme(uri) {
	case "s3":
		info, _, err := s3Stat(ctx, uri)
		return info, err
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
		if err != nil {
			return Info{}, fmt.Errorf("requesting %s: %w", uri, err)
		}
		req.Header.Set("Range", "bytes=0-0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return Info{}, fmt.Errorf("requesting %s: %w", uri, err)
		}
		_ = resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusPartialContent:
			// Content-Range: bytes 0-0/SIZE
			cr := resp.Header.Get("Content-Range")
			if i := strings.LastIndex(cr, "/"); i >= 0 {
				if n, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil {
					return Info{URI: uri, Size: n}, nil
				}
			}
			return Info{URI: uri, Size: -1}, nil
		case http.StatusOK:
			return Info{URI: uri, Size: resp.ContentLength}, nil
		case http.StatusNotFound, http.StatusGone:
			return Info{}, fmt.Errorf("requesting %s: %w (HTTP %d)", uri, ErrNotFound, resp.StatusCode)
		default:
			return Info{}, fmt.Errorf("requesting %s: HTTP %s", uri, resp.Status)
		}
	}
	p, err := LocalPath(uri)
	if err != nil {
		return Info{}, err
	}
	st, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return Info{}, fmt.Errorf("stat %s: %w", uri, ErrNotFound)
	}
	if err != nil {
		return Info{}, fmt.Errorf("stat %s: %w", uri, err)
	}
	return Info{URI: uri, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// OpenRange reads n bytes of the object starting at off (n < 0: to the
// end). The caller closes the reader.
func OpenRange(ctx context.Context, uri string, off, n int64) (io.ReadCloser, error) {
	switch Scheme(uri) {
	case "s3":
		return s3OpenRange(ctx, uri, off, n)
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
		if err != nil {
			return nil, fmt.Errorf("requesting %s: %w", uri, err)
		}
		if n < 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
		} else if n == 0 {
			return io.NopCloser(strings.NewReader("")), nil
		} else {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("requesting %s: %w", uri, err)
		}
		switch resp.StatusCode {
		case http.StatusPartialContent:
			return resp.Body, nil
		case http.StatusOK: // server ignores ranges: skip to off
			if _, err := io.CopyN(io.Discard, resp.Body, off); err != nil {
				_ = resp.Body.Close()
				return nil, fmt.Errorf("reading %s: %w", uri, err)
			}
			if n < 0 {
				return resp.Body, nil
			}
			return readCloser{io.LimitReader(resp.Body, n), resp.Body}, nil
		case http.StatusNotFound, http.StatusGone:
			_ = resp.Body.Close()
			return nil, fmt.Errorf("requesting %s: %w (HTTP %d)", uri, ErrNotFound, resp.StatusCode)
		default:
			_ = resp.Body.Close()
			return nil, fmt.Errorf("requesting %s: HTTP %s", uri, resp.Status)
		}
	}
	f, err := openLocal(uri)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("seeking %s: %w", uri, err)
		}
		return f, nil
	}
	return readCloser{io.NewSectionReader(f, off, n), f}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// ReaderAt is random access to one object (Parquet footers and row groups).
type ReaderAt interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// OpenReaderAt opens an object for random access: a local file directly;
// an http(s) or s3:// object through ranged GETs (the size is read once, at
// open; for s3:// every read is pinned to the object version seen then).
// ctx governs the reads.
func OpenReaderAt(ctx context.Context, uri string) (ReaderAt, error) {
	switch Scheme(uri) {
	case "s3":
		return s3OpenReaderAt(ctx, uri)
	case "http", "https":
		info, err := Stat(ctx, uri)
		if err != nil {
			return nil, err
		}
		if info.Size < 0 {
			return nil, fmt.Errorf("opening %s: the server does not report the size", uri)
		}
		return &rangeReaderAt{ctx: ctx, uri: uri, size: info.Size}, nil
	}
	f, err := openLocal(uri)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("stat %s: %w", uri, err)
	}
	return &fileReaderAt{File: f, size: st.Size()}, nil
}

type fileReaderAt struct {
	*os.File
	size int64
}

func (f *fileReaderAt) Size() int64 { return f.size }

// rangeReaderAt serves ReadAt with one ranged request per call.
type rangeReaderAt struct {
	ctx  context.Context
	uri  string
	size int64
}

func (r *rangeReaderAt) Size() int64  { return r.size }
func (r *rangeReaderAt) Close() error { return nil }

func (r *rangeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	n := int64(len(p))
	if off+n > r.size {
		n = r.size - off
	}
	rc, err := OpenRange(r.ctx, r.uri, off, n)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	got, err := io.ReadFull(rc, p[:n])
	if err == nil && int64(got) < int64(len(p)) {
		err = io.EOF
	}
	return got, err
}

// List returns the objects under a local folder (recursively) or an s3://
// prefix, sorted by URI. An s3:// prefix is taken as a folder: s3://b/x and
// s3://b/x/ both list the keys under "x/". A prefix that names no folder
// (for s3://, no objects, or no bucket) gives ErrNotFound.
func List(ctx context.Context, prefix string) ([]Info, error) {
	if Scheme(prefix) == "s3" {
		return s3List(ctx, prefix)
	}
	if s := Scheme(prefix); s == "http" || s == "https" {
		return nil, fmt.Errorf("%w: cannot list %s (give file URLs one by one)", ErrUnsupportedScheme, prefix)
	}
	root, err := LocalPath(prefix)
	if err != nil {
		return nil, err
	}
	var out []Info
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, Info{URI: p, Size: info.Size(), ModTime: info.ModTime()})
		return nil
	})
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("listing %s: %w", prefix, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URI < out[j].URI })
	return out, nil
}
