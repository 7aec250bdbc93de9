package dataset

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors. Errors returned by this package wrap one of these (test
// with errors.Is) whenever the condition is one a caller may branch on.
var (
	// ErrNotFound: a local path does not exist, or an http(s) URL answered
	// 404 Not Found or 410 Gone.
	ErrNotFound = errors.New("not found")
	// ErrEmpty: a folder holds no data files, a file has zero bytes (or no
	// header / no JSON line), or a list of files or an inline sample is empty.
	ErrEmpty = errors.New("no data")
	// ErrUnsupportedFormat: the file format or a column type is not one this
	// package reads.
	ErrUnsupportedFormat = errors.New("unsupported format")
	// ErrUnsupportedScheme: a URI scheme other than file, http or https.
	ErrUnsupportedScheme = errors.New("unsupported URI scheme")
	// ErrSchemaMismatch: files read as one stream differ in column names,
	// order or (non-unifiable) types.
	ErrSchemaMismatch = errors.New("schema mismatch")
	// ErrInlineTooLarge: an inline sample is over MaxInlineBytes or
	// MaxInlineRows.
	ErrInlineTooLarge = errors.New("inline sample too large")
	// ErrMalformed: the content cannot be decoded (bad CSV or JSON record,
	// unparsable value, corrupt Parquet file, invalid inline JSON). Every
	// [*ParseError] matches it under errors.Is.
	ErrMalformed = errors.New("malformed data")
)

// ParseError locates a bad record in a text file (CSV or JSON Lines) or in
// an inline sample.
//
// errors.Is(err, ErrMalformed) is true for every ParseError; Unwrap returns
// the underlying cause.
type ParseError struct {
	// URI names the file.
	URI string
	// Line is the 1-based physical line where the record starts; in CSV the
	// header is line 1, and quoted newlines inside earlier records count.
	// 0 when unknown.
	Line int
	// Column is the column name, or "" when the error is not about one field.
	Column string
	// Value is the offending field text, or "".
	Value string
	// Err describes the problem.
	Err error
}

// maxValueInMessage bounds how much of a bad value Error quotes.
const maxValueInMessage = 64

// Error formats as `data.csv:17: column "age": cannot parse "abc" as a number`.
func (e *ParseError) Error() string {
	s := e.URI
	if e.Line > 0 {
		s += fmt.Sprintf(":%d", e.Line)
	}
	if e.Column != "" {
		s += fmt.Sprintf(": column %q", e.Column)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }

// Is reports whether target is ErrMalformed.
func (e *ParseError) Is(target error) bool { return target == ErrMalformed }

// quoteValue quotes v for an error message, shortening long values.
func quoteValue(v string) string {
	if len(v) > maxValueInMessage {
		return fmt.Sprintf("%q...", v[:maxValueInMessage])
	}
	return fmt.Sprintf("%q", v)
}

// StatusError is returned when an http(s) server answers a request for a
// data file with a status other than 2xx. It matches ErrNotFound under
// errors.Is for 404 and 410. 5xx and 429 are usually worth retrying; other
// 4xx are not.
type StatusError struct {
	URL        string
	StatusCode int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
}

// Is reports whether target is ErrNotFound and the status says so.
func (e *StatusError) Is(target error) bool {
	return target == ErrNotFound && (e.StatusCode == http.StatusNotFound || e.StatusCode == http.StatusGone)
}
