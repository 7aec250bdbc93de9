package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
)

// ErrAccessDenied: the store refused the credentials or the operation
// (HTTP 403: AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch, ...).
// A retry cannot fix it.
var ErrAccessDenied = errors.New("access denied")

// Environment variables read for s3:// URIs (besides the AWS SDK's standard
// ones: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
// AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, web identity,
// SSO, ECS and EC2 instance roles, in the SDK's usual order).
const (
	// EnvRegion is the region; EnvDefaultRegion is read when it is unset,
	// then the shared config file; "us-east-1" when none gives one (which
	// suits S3-compatible stores; set it for AWS buckets elsewhere).
	EnvRegion        = "AWS_REGION"
	EnvDefaultRegion = "AWS_DEFAULT_REGION"
	// EnvEndpointS3 is a custom S3 endpoint URL (an S3-compatible store such
	// as versitygw or MinIO: "http://127.0.0.1:7070"); EnvEndpoint, the
	// all-services endpoint, is read when it is unset.
	EnvEndpointS3 = "AWS_ENDPOINT_URL_S3"
	EnvEndpoint   = "AWS_ENDPOINT_URL"
	// EnvS3PathStyle, "true" or "false" (or another strconv.ParseBool
	// spelling; other values are ignored), chooses path-style addressing
	// (http://host/bucket/key) over virtual-hosted style
	// (http://bucket.host/key). Default: true when a custom endpoint is
	// set, else false.
	EnvS3PathStyle = "BATCHINFER_S3_PATH_STYLE"
)

// S3Options configure the client that serves s3:// URIs. The zero value of
// each field means its default.
type S3Options struct {
	// Region. Default: $AWS_REGION, $AWS_DEFAULT_REGION, the shared config
	// file's, else "us-east-1".
	Region string
	// Endpoint is a custom endpoint URL for S3-compatible stores. Default:
	// $AWS_ENDPOINT_URL_S3, else $AWS_ENDPOINT_URL, else AWS's. With a
	// custom endpoint the SDK's flexible checksums are sent and checked
	// only where an operation requires them (not all S3-compatible stores
	// support them), unless $AWS_REQUEST_CHECKSUM_CALCULATION or
	// $AWS_RESPONSE_CHECKSUM_VALIDATION say otherwise. Uploads to an
	// endpoint on the loopback interface (localhost, 127.0.0.0/8, ::1)
	// over plain HTTP send UNSIGNED-PAYLOAD, as the SDK does over HTTPS:
	// no SHA-256 of the body on either side, where no network could alter
	// it (see unsignedOnLoopback).
	Endpoint string
	// PathStyle forces path-style addressing when true. Default:
	// $BATCHINFER_S3_PATH_STYLE, else true when Endpoint is set.
	PathStyle *bool
	// AccessKeyID and SecretAccessKey, when both set, are static
	// credentials used instead of the SDK's credential chain.
	AccessKeyID     string
	SecretAccessKey string
	// MaxAttempts bounds the attempts of each request (5xx answers,
	// throttling, reset connections are retried) and the re-opens of a
	// streaming read broken in the middle. Default 8.
	MaxAttempts int
	// MaxBackoff bounds the wait between two attempts. Default 20s.
	MaxBackoff time.Duration
	// PartSize is the multipart upload part size in bytes; at least 5 MiB.
	// Objects smaller than one part are written with a single PUT.
	// Default 8 MiB.
	PartSize int64
	// UploadConcurrency is how many parts of one Writer upload at once; the
	// writer buffers up to UploadConcurrency+1 parts. Default 2.
	UploadConcurrency int
	// ListPageSize is the number of keys asked per ListObjectsV2 page (at
	// most 1000). Default 1000.
	ListPageSize int32
	// HTTPClient sends the requests. Default: the SDK's.
	HTTPClient *http.Client
}

const (
	defaultS3MaxAttempts = 8
	defaultS3MaxBackoff  = 20 * time.Second
	defaultS3PartSize    = 8 << 20
	minS3PartSize        = 5 << 20
	defaultS3Concurrency = 2
	defaultS3Region      = "us-east-1"
)

// S3OptionsFromEnv returns the options the environment gives (the
// variables listed with EnvRegion and the following constants).
func S3OptionsFromEnv() S3Options {
	var o S3Options
	o.Region = os.Getenv(EnvRegion)
	if o.Region == "" {
		o.Region = os.Getenv(EnvDefaultRegion)
	}
	o.Endpoint = os.Getenv(EnvEndpointS3)
	if o.Endpoint == "" {
		o.Endpoint = os.Getenv(EnvEndpoint)
	}
	if v := os.Getenv(EnvS3PathStyle); v != "" {
		if b, err := strconv.ParseBool(v); err == nil {
			o.PathStyle = &b
		}
	}
	return o
}

func (o S3Options) withDefaults() S3Options {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = defaultS3MaxAttempts
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = defaultS3MaxBackoff
	}
	if o.PartSize <= 0 {
		o.PartSize = defaultS3PartSize
	}
	o.PartSize = max(o.PartSize, minS3PartSize)
	if o.UploadConcurrency <= 0 {
		o.UploadConcurrency = defaultS3Concurrency
	}
	if o.ListPageSize <= 0 || o.ListPageSize > 1000 {
		o.ListPageSize = 1000
	}
	return o
}

// s3Store is the process's S3 client and its settings.
type s3Store struct {
	api  *s3.Client
	opts S3Options
	// parts recycles the writers' part buffers (*[]byte of capacity
	// opts.PartSize): a result-set part is dozens of MiB, so without it
	// each part buffer is allocated, and grown by copying, anew.
	parts sync.Pool
}

// recycledPart returns an empty buffer of capacity opts.PartSize that a
// writer has finished with, or nil.
func (st *s3Store) recycledPart() []byte {
	if b, ok := st.parts.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return nil
}

// recyclePart keeps a part buffer of capacity opts.PartSize, once nothing
// reads it, for recycledPart.
func (st *s3Store) recyclePart(b []byte) {
	if int64(cap(b)) == st.opts.PartSize {
		st.parts.Put(&b)
	}
}

// s3Lazy builds a client once, on first use.
type s3Lazy struct {
	once  sync.Once
	opts  *S3Options // nil: from the environment at first use
	store *s3Store
	err   error
}

var (
	s3Mu  sync.Mutex
	s3Cur = &s3Lazy{}
)

// SetS3Options makes s3:// URIs use a client built from o (on first use)
// instead of the one the environment configures, and returns a function
// that restores the previous client. For tests and embedding programs; not
// safe to call while s3:// operations are in flight.
//
//	t.Cleanup(storage.SetS3Options(storage.S3Options{Endpoint: srv.Endpoint}))
func SetS3Options(o S3Options) (restore func()) {
	s3Mu.Lock()
	defer s3Mu.Unlock()
	prev := s3Cur
	s3Cur = &s3Lazy{opts: &o}
	return func() {
		s3Mu.Lock()
		defer s3Mu.Unlock()
		s3Cur = prev
	}
}

func getS3() (*s3Store, error) {
	s3Mu.Lock()
	l := s3Cur
	s3Mu.Unlock()
	l.once.Do(func() {
		o := S3OptionsFromEnv()
		if l.opts != nil {
			o = *l.opts
		}
		l.store, l.err = newS3Store(o.withDefaults())
	})
	return l.store, l.err
}

// retryTruncated marks a response body cut short as transient, as the SDK
// already does for reset connections.
var retryTruncated = retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
})

func newS3Store(o S3Options) (*s3Store, error) {
	loaders := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = o.MaxAttempts
				so.MaxBackoff = o.MaxBackoff
				// A client-side retry budget would fail healthy
				// operations after a burst of faults: bounded attempts
				// per request suffice for a batch job.
				so.RateLimiter = ratelimit.None
				so.Retryables = append(so.Retryables, retryTruncated)
			})
		}),
	}
	if o.Region != "" {
		loaders = append(loaders, config.WithRegion(o.Region))
	}
	if o.AccessKeyID != "" && o.SecretAccessKey != "" {
		loaders = append(loaders, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, "")))
	}
	if o.HTTPClient != nil {
		loaders = append(loaders, config.WithHTTPClient(o.HTTPClient))
	}
	// LoadDefaultConfig reads only the environment and local files here (no
	// network), so the background context is fine.
	cfg, err := config.LoadDefaultConfig(context.Background(), loaders...)
	if err != nil {
		return nil, fmt.Errorf("configuring the S3 client: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = defaultS3Region
	}
	pathStyle := o.Endpoint != ""
	if o.PathStyle != nil {
		pathStyle = *o.PathStyle
	}
	api := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
			// S3-compatible stores vary in their support of the
			// flexible checksums the SDK sends by default; ask for them
			// only where an operation requires them, unless the
			// environment chose otherwise.
			if os.Getenv("AWS_REQUEST_CHECKSUM_CALCULATION") == "" {
				so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			}
			if os.Getenv("AWS_RESPONSE_CHECKSUM_VALIDATION") == "" {
				so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
			}
		}
		if isLoopbackEndpoint(o.Endpoint) {
			so.APIOptions = append(so.APIOptions, unsignedOnLoopback)
		}
		so.UsePathStyle = pathStyle
		so.DisableLogOutputChecksumValidationSkipped = true
		// Errors are returned, never logged (the SDK would warn on stderr
		// about bodies closed after a reset).
		so.Logger = logging.Nop{}
	})
	return &s3Store{api: api, opts: o}, nil
}

// parseS3 splits s3://bucket/key.
func parseS3(uri string) (bucket, key string, err error) {
	rest := uri[len("s3://"):]
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("parsing %s: no bucket name", uri)
	}
	if strings.ContainsAny(bucket, "?#@") {
		return "", "", fmt.Errorf("parsing %s: invalid bucket name", uri)
	}
	return bucket, key, nil
}

func parseS3Object(uri string) (bucket, key string, err error) {
	bucket, key, err = parseS3(uri)
	if err == nil && (key == "" || strings.HasSuffix(key, "/")) {
		err = fmt.Errorf("parsing %s: no object key", uri)
	}
	return bucket, key, err
}

// s3Err classifies an SDK error: not found and access denied wrap the
// package's sentinels; everything else is returned as is (and stays
// retryable for callers that retry).
func s3Err(err error) error {
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	code := ""
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	switch {
	case code == "NoSuchKey" || code == "NoSuchBucket" || code == "NotFound" || status == http.StatusNotFound:
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case code == "AccessDenied" || code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" ||
		code == "AllAccessDisabled" || code == "AccountProblem" || status == http.StatusForbidden:
		return fmt.Errorf("%w: %w", ErrAccessDenied, err)
	}
	return err
}

func isS3Code(err error, codes ...string) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	for _, c := range codes {
		if apiErr.ErrorCode() == c {
			return true
		}
	}
	return false
}

func s3Stat(ctx context.Context, uri string) (Info, string, error) {
	bucket, key, err := parseS3Object(uri)
	if err != nil {
		return Info{}, "", err
	}
	st, err := getS3()
	if err != nil {
		return Info{}, "", err
	}
	out, err := st.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return Info{}, "", fmt.Errorf("stat %s: %w", uri, s3Err(err))
	}
	info := Info{URI: uri, Size: aws.ToInt64(out.ContentLength)}
	if out.LastModified != nil {
		info.ModTime = *out.LastModified
	}
	return info, aws.ToString(out.ETag), nil
}

// s3OpenRange opens n bytes from off (n < 0: to the end) as a resumable
// stream.
func s3OpenRange(ctx context.Context, uri string, off, n int64) (io.ReadCloser, error) {
	bucket, key, err := parseS3Object(uri)
	if err != nil {
		return nil, err
	}
	st, err := getS3()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	r := &s3Body{ctx: ctx, st: st, uri: uri, bucket: bucket, key: key, off: off, end: -1}
	if n > 0 {
		r.end = off + n
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// s3Body is a streaming GET that, when the connection breaks mid-body,
// re-opens the rest of its range (pinned to the first answer's ETag, so a
// replaced object is an error rather than a splice of two versions).
type s3Body struct {
	ctx         context.Context
	st          *s3Store
	uri         string
	bucket, key string
	etag        string
	off         int64 // next byte to read
	end         int64 // exclusive end of the range; -1: the object's end
	body        io.ReadCloser
	failures    int // consecutive failed reads
	closed      bool
}

func (r *s3Body) open() error {
	in := &s3.GetObjectInput{Bucket: &r.bucket, Key: &r.key}
	switch {
	case r.end >= 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", r.off, r.end-1))
	case r.off > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", r.off))
	}
	if r.etag != "" {
		in.IfMatch = aws.String(r.etag)
	}
	out, err := r.st.api.GetObject(r.ctx, in)
	if err != nil {
		if isS3Code(err, "InvalidRange") {
			// Reading at or past the end: nothing left.
			r.body = io.NopCloser(strings.NewReader(""))
			r.end = r.off
			return nil
		}
		if isS3Code(err, "PreconditionFailed") {
			return fmt.Errorf("reading %s: the object changed while being read: %w", r.uri, err)
		}
		return fmt.Errorf("reading %s: %w", r.uri, s3Err(err))
	}
	if r.etag == "" {
		r.etag = aws.ToString(out.ETag)
	}
	if out.ContentLength != nil {
		// The answer's length clips a range that runs past the object's
		// end, and knowing the end lets a short body count as a break.
		r.end = r.off + *out.ContentLength
	}
	r.body = out.Body
	return nil
}

func (r *s3Body) Read(p []byte) (int, error) {
	if r.closed {
		return 0, fmt.Errorf("reading %s: %w", r.uri, os.ErrClosed)
	}
	if err := r.ctx.Err(); err != nil {
		return 0, fmt.Errorf("reading %s: %w", r.uri, err)
	}
	for {
		if r.end >= 0 && r.off >= r.end {
			return 0, io.EOF
		}
		if r.body == nil {
			if r.failures > 0 {
				if err := sleepCtx(r.ctx, backoff(r.failures, r.st.opts.MaxBackoff)); err != nil {
					return 0, fmt.Errorf("reading %s: %w", r.uri, err)
				}
			}
			if err := r.open(); err != nil {
				return 0, err
			}
		}
		if r.end >= 0 && int64(len(p)) > r.end-r.off {
			p = p[:r.end-r.off]
		}
		n, err := r.body.Read(p)
		r.off += int64(n)
		if n > 0 {
			r.failures = 0
		}
		if err == nil || (err == io.EOF && (r.end < 0 || r.off >= r.end)) {
			return n, err
		}
		// A broken or short body: re-open the rest (on the next call when
		// this one has data) unless the caller gave up or the breaks keep
		// coming.
		_ = r.body.Close()
		r.body = nil
		if cerr := r.ctx.Err(); cerr != nil {
			return n, fmt.Errorf("reading %s: %w", r.uri, cerr)
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		r.failures++
		if r.failures >= r.st.opts.MaxAttempts {
			return n, fmt.Errorf("reading %s at byte %d: %w", r.uri, r.off, err)
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (r *s3Body) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.body != nil {
		return r.body.Close()
	}
	return nil
}

// backoff is the wait before re-opening a broken read: 50ms doubling per
// failure, capped by limit, with equal jitter.
func backoff(failures int, limit time.Duration) time.Duration {
	d := 50 * time.Millisecond << min(failures-1, 10)
	d = min(d, limit)
	return d/2 + time.Duration(time.Now().UnixNano()%int64(d/2+1))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// s3ReaderAt serves ReadAt with one ranged GET per call.
type s3ReaderAt struct {
	ctx  context.Context
	uri  string
	size int64
	etag string
}

func (r *s3ReaderAt) Size() int64  { return r.size }
func (r *s3ReaderAt) Close() error { return nil }

func (r *s3ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("reading %s: negative offset", r.uri)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), r.size-off)
	bucket, key, err := parseS3Object(r.uri)
	if err != nil {
		return 0, err
	}
	st, err := getS3()
	if err != nil {
		return 0, err
	}
	body := &s3Body{ctx: r.ctx, st: st, uri: r.uri, bucket: bucket, key: key, etag: r.etag, off: off, end: off + n}
	defer body.Close()
	got, err := io.ReadFull(body, p[:n])
	if err == nil && int64(got) < int64(len(p)) {
		err = io.EOF
	}
	return got, err
}

func s3OpenReaderAt(ctx context.Context, uri string) (ReaderAt, error) {
	info, etag, err := s3Stat(ctx, uri)
	if err != nil {
		return nil, err
	}
	return &s3ReaderAt{ctx: ctx, uri: uri, size: info.Size, etag: etag}, nil
}

// s3List lists the objects under prefix, taken as a folder: s3://b/x and
// s3://b/x/ both list the keys that start with "x/"; s3://b lists the
// bucket.
func s3List(ctx context.Context, prefix string) ([]Info, error) {
	bucket, key, err := parseS3(prefix)
	if err != nil {
		return nil, err
	}
	if key != "" && !strings.HasSuffix(key, "/") {
		key += "/"
	}
	st, err := getS3()
	if err != nil {
		return nil, err
	}
	in := &s3.ListObjectsV2Input{Bucket: &bucket, MaxKeys: aws.Int32(st.opts.ListPageSize)}
	if key != "" {
		in.Prefix = &key
	}
	var out []Info
	pages := s3.NewListObjectsV2Paginator(st.api, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", prefix, s3Err(err))
		}
		for _, obj := range page.Contents {
			info := Info{URI: "s3://" + bucket + "/" + aws.ToString(obj.Key), Size: aws.ToInt64(obj.Size)}
			if obj.LastModified != nil {
				info.ModTime = *obj.LastModified
			}
			out = append(out, info)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("listing %s: no objects: %w", prefix, ErrNotFound)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URI < out[j].URI })
	return out, nil
}

func s3Exists(ctx context.Context, uri string) (bool, error) {
	_, _, err := s3Stat(ctx, uri)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func s3CheckWritable(uri string) error {
	if _, _, err := parseS3(uri); err != nil {
		return err
	}
	if _, err := getS3(); err != nil {
		return fmt.Errorf("checking %s: %w", uri, err)
	}
	return nil
}

// isLoopbackEndpoint reports whether endpoint is a URL whose host is
// localhost or a loopback IP address.
func isLoopbackEndpoint(endpoint string) bool {
	if endpoint == "" {
		return false
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// unsignedOnLoopback makes PutObject and UploadPart send UNSIGNED-PAYLOAD
// instead of the body's SHA-256. The SDK signs the payload of these two
// operations over plain HTTP and not over HTTPS (where TLS guards the
// body); on the loopback interface there is no network to guard against
// either, and hashing every byte uploaded costs both this process and the
// store (about 1.5 CPU-seconds per GiB each, with SHA-NI). Other
// operations keep the SDK's default.
func unsignedOnLoopback(stack *middleware.Stack) error {
	switch stack.ID() {
	case "PutObject", "UploadPart":
	default:
		return nil
	}
	// The swap fails only if the SDK's stack has no payload-hashing step
	// to replace; the upload is then signed as usual
	// (TestS3UnsignedPayloadOnLoopback watches the header on the wire).
	_ = v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware(stack)
	return nil
}
