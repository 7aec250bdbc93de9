package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/batchinfer/batchinfer/internal/storage"
)

// Format is a data file format.
type Format string

// Supported formats.
const (
	CSV     Format = "csv"
	Parquet Format = "parquet"
	JSONL   Format = "jsonl"
)

// File is one resolved input file.
type File struct {
	// URI is a local path, an http(s) URL or an s3:// URI, as given to or
	// found by Resolve.
	URI string
	// Format is the file's format.
	Format Format
	// Size is the size in bytes, or -1 when unknown.
	Size int64
}

// sniffBytes is how much of a file's start Resolve reads to guess a format.
const sniffBytes = 4096

// Resolve expands URIs into the data files they name, in order:
//
//   - a local file path or file:// URI: that file;
//   - a local folder: every data file under it, recursively, sorted by
//     path; entries (files or folders) whose names start with "." or "_"
//     (such as .DS_Store, _SUCCESS, _delta_log) are skipped, and so are
//     zero-byte files, files whose extension is not a data-file extension,
//     and symbolic links to folders;
//   - an http:// or https:// URL: one file. Resolve probes it with a
//     ranged GET (which, unlike HEAD, also works for presigned URLs);
//   - an s3://bucket/key URI naming an object: that object;
//   - an s3:// prefix (s3://bucket, or a key ending in "/", or a key that
//     names no object, such as s3://bucket/events): the objects under it,
//     as the prefix is taken as a folder, filtered and sorted as the files
//     of a local folder are (a path segment below the prefix starting with
//     "." or "_" hides the objects under it);
//   - a glob, local or s3://, with *, ? or [...] in its path segments
//     (data/*.csv, s3://bucket/events/*/part-*.parquet): the files it
//     matches, each wildcard segment matching one path segment as
//     path.Match does ("**" is not special). Wildcards do not match names
//     starting with "." or "_"; matches are filtered and sorted as a
//     folder's files are. A glob that matches no file gives ErrNotFound.
//
// The s3:// client is configured from the environment (see the storage
// package: AWS_REGION, AWS_ENDPOINT_URL_S3, BATCHINFER_S3_PATH_STYLE and the
// AWS credential chain); Resolve takes File.Size from the listing or a HEAD
// request.
//
// The format comes from the extension: .csv; .parquet or .pq; .jsonl,
// .ndjson or .json (read as JSON Lines); each text extension may be
// followed by .gz. A file named explicitly with any other extension is
// recognized from its content: the Parquet magic "PAR1", else JSON Lines
// if the first non-space byte is '{', else CSV (gzip-compressed content is
// looked into). Extensions of known but unsupported formats (.tsv, .xlsx,
// .avro, .orc, .feather, ...) and binary content give ErrUnsupportedFormat.
//
// Errors: ErrNotFound (missing path, HTTP 404/410, no such object, prefix
// or bucket), ErrEmpty (folder with no data files, zero-byte file named
// explicitly, no URIs), ErrUnsupportedFormat, ErrUnsupportedScheme,
// *StatusError (other non-2xx HTTP answers), storage.ErrAccessDenied (S3
// refused the credentials); other S3 errors (network, throttling past the
// retries) are returned as they are.
func Resolve(ctx context.Context, uris []string) ([]File, error) {
	return resolve(ctx, uris, http.DefaultClient)
}

// ResolveWith is Resolve using client for http(s) URLs (nil means
// http.DefaultClient).
func ResolveWith(ctx context.Context, uris []string, client *http.Client) ([]File, error) {
	if client == nil {
		client = http.DefaultClient
	}
	return resolve(ctx, uris, client)
}

func resolve(ctx context.Context, uris []string, client *http.Client) ([]File, error) {
	if len(uris) == 0 {
		return nil, fmt.Errorf("resolving dataset: no URIs given: %w", ErrEmpty)
	}
	var out []File
	for _, uri := range uris {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("resolving %s: %w", displayName(uri), err)
		}
		files, err := resolveOne(ctx, uri, client)
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
	}
	return out, nil
}

func resolveOne(ctx context.Context, uri string, client *http.Client) ([]File, error) {
	kind, p, err := splitURI(uri)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", displayName(uri), err)
	}
	if kind == remote {
		f, err := resolveHTTP(ctx, uri, client)
		if err != nil {
			return nil, err
		}
		return []File{f}, nil
	}
	if kind == s3Object {
		return resolveS3(ctx, p)
	}
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && hasGlobMeta(p) {
			return resolveLocalGlob(ctx, uri, p)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("resolving %s: %w", uri, ErrNotFound)
		}
		return nil, fmt.Errorf("resolving %s: %w", uri, err)
	}
	if fi.IsDir() {
		return resolveDir(ctx, uri, p)
	}
	if fi.Size() == 0 {
		return nil, fmt.Errorf("resolving %s: file is empty (0 bytes): %w", uri, ErrEmpty)
	}
	format, known, err := formatFromName(p)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", uri, err)
	}
	if !known {
		format, err = sniffLocal(p)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", uri, err)
		}
	}
	return []File{{URI: p, Format: format, Size: fi.Size()}}, nil
}

type uriKind int

const (
	local    uriKind = iota
	remote           // http(s)
	s3Object         // s3://: an object, a prefix or a glob
)

// splitURI classifies uri and, for local files, returns the path.
func splitURI(uri string) (uriKind, string, error) {
	lower := strings.ToLower(uri)
	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		return remote, uri, nil
	case strings.HasPrefix(lower, "s3://"):
		if bucket, _, _ := strings.Cut(uri[len("s3://"):], "/"); bucket == "" {
			return 0, "", fmt.Errorf("s3 URI without a bucket: %w", ErrNotFound)
		}
		return s3Object, "s3://" + uri[len("s3://"):], nil
	case strings.HasPrefix(lower, "file://"):
		u, err := url.Parse(uri)
		if err != nil {
			return 0, "", fmt.Errorf("parsing file URI: %w", err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return 0, "", fmt.Errorf("file URI with host %q: %w", u.Host, ErrUnsupportedScheme)
		}
		if u.Path == "" {
			return 0, "", fmt.Errorf("file URI without a path: %w", ErrNotFound)
		}
		return local, filepath.FromSlash(u.Path), nil
	}
	// A scheme is letters, digits, '+', '-', '.' before "://".
	if i := strings.Index(uri, "://"); i > 0 && isScheme(uri[:i]) {
		return 0, "", fmt.Errorf("scheme %q: %w", uri[:i], ErrUnsupportedScheme)
	}
	if uri == "" {
		return 0, "", fmt.Errorf("empty path: %w", ErrNotFound)
	}
	return local, uri, nil
}

func isScheme(s string) bool {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// displayName is uri with any query string, fragment and user information
// removed, so that presigned URLs do not leak their signatures into error
// messages.
func displayName(uri string) string {
	lower := strings.ToLower(uri)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		return uri
	}
	u, err := url.Parse(uri)
	if err != nil {
		if i := strings.IndexAny(uri, "?#"); i >= 0 {
			return uri[:i]
		}
		return uri
	}
	u.RawQuery, u.Fragment, u.RawFragment, u.User = "", "", "", nil
	return u.String()
}

// unsupportedExt lists extensions of formats people commonly try that this
// package does not read.
var unsupportedExt = map[string]string{
	".tsv": "TSV", ".tab": "TSV", ".xlsx": "Excel", ".xls": "Excel", ".avro": "Avro",
	".orc": "ORC", ".feather": "Feather", ".arrow": "Arrow IPC", ".ipc": "Arrow IPC",
	".pkl": "pickle", ".pickle": "pickle", ".h5": "HDF5", ".hdf5": "HDF5",
	".zip": "zip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd",
}

// formatFromName returns the format the file name's extension says; known is
// false when the extension says nothing.
func formatFromName(name string) (f Format, known bool, err error) {
	base := strings.ToLower(path.Base(filepath.ToSlash(name)))
	gz := false
	if strings.HasSuffix(base, ".gz") {
		gz = true
		base = strings.TrimSuffix(base, ".gz")
	}
	ext := path.Ext(base)
	switch ext {
	case ".csv":
		return CSV, true, nil
	case ".jsonl", ".ndjson", ".json":
		return JSONL, true, nil
	case ".parquet", ".pq":
		if gz {
			return "", false, fmt.Errorf("gzip-compressed Parquet (%s.gz): %w", ext, ErrUnsupportedFormat)
		}
		return Parquet, true, nil
	}
	if what, ok := unsupportedExt[ext]; ok {
		return "", false, fmt.Errorf("%s files (%s): %w", what, ext, ErrUnsupportedFormat)
	}
	return "", false, nil // sniffed (after decompression for .gz)
}

func sniffLocal(p string) (Format, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, sniffBytes)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", err
	}
	return sniff(buf[:n])
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// sniff guesses a format from the first bytes of a file.
func sniff(head []byte) (Format, error) {
	if len(head) == 0 {
		return "", fmt.Errorf("file is empty (0 bytes): %w", ErrEmpty)
	}
	if bytes.HasPrefix(head, []byte("PAR1")) {
		return Parquet, nil
	}
	if isGzip(head) {
		zr, err := gzip.NewReader(bytes.NewReader(head))
		if err != nil {
			return "", fmt.Errorf("reading gzip header: %w", ErrMalformed)
		}
		inner := make([]byte, sniffBytes)
		// The head is truncated, so an unexpected EOF is normal here.
		n, _ := io.ReadFull(zr, inner)
		if n == 0 {
			return "", fmt.Errorf("gzip content starts with no data: %w", ErrUnsupportedFormat)
		}
		f, err := sniff(inner[:n])
		if err == nil && f == Parquet {
			return "", fmt.Errorf("gzip-compressed Parquet: %w", ErrUnsupportedFormat)
		}
		return f, err
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return "", fmt.Errorf("binary content (NUL bytes) is not CSV, JSON Lines or Parquet: %w", ErrUnsupportedFormat)
	}
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(head, utf8BOM), " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return JSONL, nil
	}
	return CSV, nil
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

func resolveDir(ctx context.Context, uri, root string) ([]File, error) {
	var (
		files   []File
		skipped int
	)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == root {
			return nil
		}
		name := d.Name()
		if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		fi, err := os.Stat(p) // follows symbolic links to files
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		format, known, ferr := formatFromName(name)
		if ferr != nil || !known {
			skipped++
			return nil
		}
		if fi.Size() == 0 {
			return nil
		}
		files = append(files, File{URI: p, Format: format, Size: fi.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing folder %s: %w", uri, err)
	}
	if len(files) == 0 {
		if skipped > 0 {
			return nil, fmt.Errorf("listing folder %s: no .csv, .parquet, .pq, .jsonl, .ndjson or .json files (%d other files skipped): %w", uri, skipped, ErrEmpty)
		}
		return nil, fmt.Errorf("listing folder %s: no data files: %w", uri, ErrEmpty)
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.URI, b.URI) })
	return files, nil
}

func resolveHTTP(ctx context.Context, uri string, client *http.Client) (File, error) {
	name := displayName(uri)
	u, err := url.Parse(uri)
	if err != nil {
		return File{}, fmt.Errorf("resolving %s: %w", name, err)
	}
	format, known, err := formatFromName(u.Path)
	if err != nil {
		return File{}, fmt.Errorf("resolving %s: %w", name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return File{}, fmt.Errorf("resolving %s: %w", name, err)
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=0-%d", sniffBytes-1))
	resp, err := client.Do(req)
	if err != nil {
		return File{}, fmt.Errorf("resolving %s: %w", name, redactErr(err, uri, name))
	}
	defer resp.Body.Close()
	var size int64
	switch resp.StatusCode {
	case http.StatusOK:
		size = resp.ContentLength
	case http.StatusPartialContent:
		size = totalFromContentRange(resp.Header.Get("Content-Range"))
	case http.StatusRequestedRangeNotSatisfiable:
		// The only range a server cannot satisfy from byte 0 is that of an
		// empty file.
		return File{}, fmt.Errorf("resolving %s: file is empty (0 bytes): %w", name, ErrEmpty)
	default:
		return File{}, fmt.Errorf("resolving %s: %w", name, &StatusError{URL: name, StatusCode: resp.StatusCode})
	}
	if size == 0 {
		return File{}, fmt.Errorf("resolving %s: file is empty (0 bytes): %w", name, ErrEmpty)
	}
	if !known {
		head, err := io.ReadAll(io.LimitReader(bufio.NewReader(resp.Body), sniffBytes))
		if err != nil {
			return File{}, fmt.Errorf("resolving %s: %w", name, redactErr(err, uri, name))
		}
		format, err = sniff(head)
		if err != nil {
			return File{}, fmt.Errorf("resolving %s: %w", name, err)
		}
	}
	return File{URI: uri, Format: format, Size: size}, nil
}

// totalFromContentRange parses "bytes 0-4095/12345" into 12345; -1 if unknown.
func totalFromContentRange(h string) int64 {
	i := strings.LastIndexByte(h, '/')
	if i < 0 {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSpace(h[i+1:]), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// redactErr replaces the full URL in net/http's errors (which quote it) by
// its display name.
func redactErr(err error, uri, name string) error {
	if uri == name || !strings.Contains(err.Error(), uri) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), uri, name), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error {
	// Unwrap to the cause of a *url.Error so that its message (with the
	// full URL) is not reachable by printing, but errors.Is still works for
	// context cancellation and timeouts.
	var ue *url.Error
	if errors.As(e.err, &ue) {
		return ue.Err
	}
	return e.err
}

// hasGlobMeta reports whether p has glob wildcards.
func hasGlobMeta(p string) bool { return strings.ContainsAny(p, "*?[") }

// hiddenName reports whether a file or folder name is one that folder
// listings skip.
func hiddenName(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// listing collects the files of a folder, prefix or glob.
type listing struct {
	files   []File
	skipped int // files with no data-file extension
}

// add keeps a non-empty file with a data-file extension.
func (l *listing) add(uri, name string, size int64) {
	format, known, err := formatFromName(name)
	if err != nil || !known {
		l.skipped++
		return
	}
	if size == 0 {
		return
	}
	l.files = append(l.files, File{URI: uri, Format: format, Size: size})
}

// result sorts the files, or explains why there are none.
func (l *listing) result(what string, uri string) ([]File, error) {
	if len(l.files) == 0 {
		if l.skipped > 0 {
			return nil, fmt.Errorf("listing %s %s: no .csv, .parquet, .pq, .jsonl, .ndjson or .json files (%d other files skipped): %w", what, uri, l.skipped, ErrEmpty)
		}
		return nil, fmt.Errorf("listing %s %s: no data files: %w", what, uri, ErrEmpty)
	}
	slices.SortFunc(l.files, func(a, b File) int { return strings.Compare(a.URI, b.URI) })
	return l.files, nil
}

// resolveLocalGlob expands a local glob pattern.
func resolveLocalGlob(ctx context.Context, uri, pattern string) ([]File, error) {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", uri, err)
	}
	patSegs := strings.Split(filepath.ToSlash(pattern), "/")
	var l listing
	found := 0
	for _, m := range matches {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("resolving %s: %w", uri, err)
		}
		if wildcardHidden(patSegs, strings.Split(filepath.ToSlash(m), "/")) {
			continue
		}
		fi, err := os.Stat(m) // follows symbolic links to files
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", uri, err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		found++
		l.add(m, filepath.Base(m), fi.Size())
	}
	if found == 0 {
		return nil, fmt.Errorf("resolving %s: no files match: %w", uri, ErrNotFound)
	}
	return l.result("glob", uri)
}

// wildcardHidden reports whether a wildcard segment of the pattern matched
// a hidden name ("." or "_" first) that the segment does not spell out.
func wildcardHidden(pattern, name []string) bool {
	for i, seg := range pattern {
		if i >= len(name) {
			break
		}
		if hasGlobMeta(seg) && hiddenName(name[i]) && !strings.HasPrefix(seg, name[i][:1]) {
			return true
		}
	}
	return false
}

// resolveS3 resolves an s3:// object, prefix or glob.
func resolveS3(ctx context.Context, uri string) ([]File, error) {
	bucket, key, _ := strings.Cut(uri[len("s3://"):], "/")
	if hasGlobMeta(key) {
		return resolveS3Glob(ctx, uri, bucket, key)
	}
	if key == "" || strings.HasSuffix(key, "/") {
		return resolveS3Prefix(ctx, uri)
	}
	info, err := storage.Stat(ctx, uri)
	if errors.Is(err, storage.ErrNotFound) {
		// No such object: perhaps a prefix ("folder").
		files, lerr := resolveS3Prefix(ctx, uri+"/")
		if errors.Is(lerr, ErrNotFound) {
			return nil, fmt.Errorf("resolving %s: %w", uri, fromStorage(err))
		}
		return files, lerr
	}
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", uri, fromStorage(err))
	}
	if info.Size == 0 {
		return nil, fmt.Errorf("resolving %s: file is empty (0 bytes): %w", uri, ErrEmpty)
	}
	format, known, err := formatFromName(key)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", uri, err)
	}
	if !known {
		if format, err = sniffStorage(ctx, uri); err != nil {
			return nil, fmt.Errorf("resolving %s: %w", uri, err)
		}
	}
	return []File{{URI: uri, Format: format, Size: info.Size}}, nil
}

// sniffStorage guesses the format from a ranged read of the first bytes.
func sniffStorage(ctx context.Context, uri string) (Format, error) {
	r, err := storage.OpenRange(ctx, uri, 0, sniffBytes)
	if err != nil {
		return "", fromStorage(err)
	}
	defer r.Close()
	head, err := io.ReadAll(r)
	if err != nil {
		return "", fromStorage(err)
	}
	return sniff(head)
}

// resolveS3Prefix lists the data files under an s3:// prefix ending in "/"
// (or a bare bucket).
func resolveS3Prefix(ctx context.Context, prefix string) ([]File, error) {
	infos, err := storage.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", prefix, fromStorage(err))
	}
	base := prefix
	if !strings.HasSuffix(base, "/") {
		base += "/" // a bare bucket
	}
	var l listing
	for _, in := range infos {
		rel := strings.TrimPrefix(in.URI, base)
		if strings.HasSuffix(rel, "/") || slices.ContainsFunc(strings.Split(rel, "/"), hiddenName) {
			continue // folder markers, hidden or underscore paths
		}
		l.add(in.URI, path.Base(rel), in.Size)
	}
	return l.result("prefix", prefix)
}

// resolveS3Glob lists the objects under the pattern's literal leading
// segments and keeps those whose key matches it segment by segment.
func resolveS3Glob(ctx context.Context, uri, bucket, key string) ([]File, error) {
	segs := strings.Split(key, "/")
	lit := 0
	for lit < len(segs) && !hasGlobMeta(segs[lit]) {
		lit++
	}
	for _, seg := range segs {
		if _, err := path.Match(seg, ""); err != nil {
			return nil, fmt.Errorf("resolving %s: %w", uri, err)
		}
	}
	prefix := "s3://" + bucket + "/"
	if lit > 0 {
		prefix += strings.Join(segs[:lit], "/") + "/"
	}
	infos, err := storage.List(ctx, prefix)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("resolving %s: %w", uri, fromStorage(err))
	}
	var l listing
	found := 0
	for _, in := range infos {
		k := strings.TrimPrefix(in.URI, "s3://"+bucket+"/")
		ks := strings.Split(k, "/")
		if len(ks) != len(segs) || wildcardHidden(segs, ks) {
			continue
		}
		ok := true
		for i := lit; i < len(segs) && ok; i++ {
			ok, _ = path.Match(segs[i], ks[i])
		}
		if !ok {
			continue
		}
		found++
		l.add(in.URI, ks[len(ks)-1], in.Size)
	}
	if found == 0 {
		return nil, fmt.Errorf("resolving %s: no objects match: %w", uri, ErrNotFound)
	}
	return l.result("glob", uri)
}
