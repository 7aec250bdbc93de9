package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Errors callers branch on.
var (
	// ErrNotFound: the object does not exist (a missing file, HTTP 404).
	ErrNotFound = errors.New("not found")
	// ErrUnsupportedScheme: the URI's scheme is not handled (yet).
	ErrUnsupportedScheme = errors.New("unsupported URI scheme")
)

// Scheme returns the URI's scheme ("file" for plain paths), lower-cased.
func Scheme(uri string) string {
	if i := strings.Index(uri, "://"); i > 0 {
		return strings.ToLower(uri[:i])
	}
	return "file"
}

// LocalPath returns the local file path of a plain path or file:// URI.
func LocalPath(uri string) (string, error) {
	switch Scheme(uri) {
	case "file":
		if strings.HasPrefix(strings.ToLower(uri), "file://") {
			u, err := url.Parse(uri)
			if err != nil {
				return "", fmt.Errorf("parsing %s: %w", uri, err)
			}
			return u.Path, nil
		}
		return uri, nil
	default:
		return "", fmt.Errorf("%w: %s is not a local path", ErrUnsupportedScheme, uri)
	}
}

// Join appends slash-separated elements to a path or URI.
func Join(base string, elem ...string) string {
	if Scheme(base) == "file" && !strings.HasPrefix(base, "file://") {
		return filepath.Join(append([]string{base}, elem...)...)
	}
	return strings.TrimRight(base, "/") + "/" + strings.Join(elem, "/")
}

// Open reads an object: a local file, an http(s) URL or an s3:// object
// (a streaming GET that resumes from where it broke when the connection
// fails mid-body). The caller closes it.
func Open(ctx context.Context, uri string) (io.ReadCloser, error) {
	switch Scheme(uri) {
	case "s3":
		return s3OpenRange(ctx, uri, 0, -1)
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
		if err != nil {
			return nil, fmt.Errorf("requesting %s: %w", uri, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("requesting %s: %w", uri, err)
		}
		if resp.StatusCode != http.StatusOK {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound {
				return nil, fmt.Errorf("requesting %s: %w (HTTP 404)", uri, ErrNotFound)
			}
			return nil, fmt.Errorf("requesting %s: HTTP %s", uri, resp.Status)
		}
		return resp.Body, nil
	}
	f, err := openLocal(uri)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// ReadAll reads a whole object, refusing more than max bytes (max <= 0: no limit).
func ReadAll(ctx context.Context, uri string, max int64) ([]byte, error) {
	r, err := Open(ctx, uri)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var src io.Reader = r
	if max > 0 {
		src = io.LimitReader(r, max+1)
	}
	b, err := io.ReadAll(src)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", uri, err)
	}
	if max > 0 && int64(len(b)) > max {
		return nil, fmt.Errorf("reading %s: larger than the %d-byte limit", uri, max)
	}
	return b, nil
}

// Writer writes one object atomically: data goes to a temporary file beside
// the target and is renamed into place by Commit (for s3://, to a multipart
// upload that Commit completes). Close without Commit discards it. Writing
// the same URI again replaces the object whole.
type Writer struct {
	f      *os.File
	target string
	done   bool
	s3     *s3Writer
}

// Create starts writing the object at uri (a local path or file:// URI,
// creating parent folders; or an s3:// URI, where ctx governs the uploads
// until Commit or Close).
func Create(ctx context.Context, uri string) (*Writer, error) {
	if Scheme(uri) == "s3" {
		sw, err := s3Create(ctx, uri)
		if err != nil {
			return nil, err
		}
		return &Writer{target: uri, s3: sw}, nil
	}
	p, err := LocalPath(uri)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("creating folder for %s: %w", uri, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", uri, err)
	}
	return &Writer{f: f, target: p}, nil
}

// Write implements io.Writer.
func (w *Writer) Write(p []byte) (int, error) {
	if w.s3 != nil {
		return w.s3.Write(p)
	}
	return w.f.Write(p)
}

// Commit syncs the data and renames it into place.
func (w *Writer) Commit() error {
	if w.done {
		return fmt.Errorf("committing %s: already closed", w.target)
	}
	w.done = true
	if w.s3 != nil {
		return w.s3.Commit()
	}
	if err := w.f.Sync(); err != nil {
		w.abort()
		return fmt.Errorf("writing %s: %w", w.target, err)
	}
	if err := w.f.Close(); err != nil {
		_ = os.Remove(w.f.Name())
		return fmt.Errorf("writing %s: %w", w.target, err)
	}
	if err := os.Rename(w.f.Name(), w.target); err != nil {
		_ = os.Remove(w.f.Name())
		return fmt.Errorf("writing %s: %w", w.target, err)
	}
	return nil
}

// Close discards the data unless Commit was called. It is safe to defer.
func (w *Writer) Close() error {
	if !w.done {
		w.done = true
		w.abort()
	}
	return nil
}

func (w *Writer) abort() {
	if w.s3 != nil {
		w.s3.abort()
		return
	}
	_ = w.f.Close()
	_ = os.Remove(w.f.Name())
}

// WriteFile writes data to uri atomically.
func WriteFile(ctx context.Context, uri string, data []byte) error {
	w, err := Create(ctx, uri)
	if err != nil {
		return err
	}
	defer w.Close()
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", uri, err)
	}
	return w.Commit()
}

// Exists reports whether a local or s3:// object exists.
func Exists(uri string) (bool, error) {
	if Scheme(uri) == "s3" {
		return s3Exists(context.Background(), uri)
	}
	p, err := LocalPath(uri)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// CheckWritable fails early, with a clear message, for artifact roots this
// build cannot write to.
func CheckWritable(uri string) error {
	switch Scheme(uri) {
	case "file":
		return nil
	case "s3":
		return s3CheckWritable(uri)
	default:
		return fmt.Errorf("%w: %s (artifact paths must be local folders or s3:// prefixes)", ErrUnsupportedScheme, uri)
	}
}

// openLocal opens a local path or file:// URI, mapping a missing file to
// ErrNotFound.
func openLocal(uri string) (*os.File, error) {
	p, err := LocalPath(uri)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("opening %s: %w", uri, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", uri, err)
	}
	return f, nil
}
