package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/batchinfer/batchinfer/internal/testenv"
)

// useS3 points s3:// URIs at endpoint for the test.
func useS3(t *testing.T, srv *testenv.S3Server, endpoint string, o S3Options) {
	t.Helper()
	o.Endpoint = endpoint
	o.AccessKeyID, o.SecretAccessKey = srv.AccessKey, srv.SecretKey
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 20 * time.Millisecond // keep retried tests fast
	}
	t.Cleanup(SetS3Options(o))
}

func randomBytes(seed uint64, n int) []byte {
	var key [32]byte
	key[0] = byte(seed)
	key[1] = byte(seed >> 8)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

// writeChunks writes data through a Writer in uneven chunks.
func writeChunks(t *testing.T, uri string, data []byte, commit bool) {
	t.Helper()
	w, err := Create(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for rest := data; len(rest) > 0; {
		k := min(len(rest), 1<<20+7)
		if _, err := w.Write(rest[:k]); err != nil {
			t.Fatalf("writing %s: %v", uri, err)
		}
		rest = rest[k:]
	}
	if commit {
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

func mustReadAll(t *testing.T, uri string) []byte {
	t.Helper()
	b, err := ReadAll(t.Context(), uri, 0)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readRange(t *testing.T, uri string, off, n int64) []byte {
	t.Helper()
	r, err := OpenRange(t.Context(), uri, off, n)
	if err != nil {
		t.Fatalf("OpenRange(%s, %d, %d): %v", uri, off, n, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("OpenRange(%s, %d, %d): %v", uri, off, n, err)
	}
	return b
}

func checkRanges(t *testing.T, uri string, data []byte) {
	t.Helper()
	size := int64(len(data))
	for _, c := range []struct{ off, n int64 }{
		{0, 10}, {size - 100_000, -1}, {size - 3, 10}, {size, 5}, {size / 2, 0}, {size / 3, 100_000}, {0, 1 << 20},
	} {
		end := size
		if c.n >= 0 {
			end = min(size, c.off+c.n)
		}
		if got := readRange(t, uri, c.off, c.n); !bytes.Equal(got, data[c.off:end]) {
			t.Errorf("OpenRange(%d, %d): %d bytes differ from the %d expected", c.off, c.n, len(got), end-c.off)
		}
	}
	ra, err := OpenReaderAt(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Close()
	if ra.Size() != size {
		t.Fatalf("ReaderAt size %d, want %d", ra.Size(), size)
	}
	buf := make([]byte, 100)
	for _, off := range []int64{0, size / 2, size - 100} {
		n, err := ra.ReadAt(buf, off)
		if err != nil || n != 100 || !bytes.Equal(buf, data[off:off+100]) {
			t.Errorf("ReadAt(%d) = %d, %v; bytes equal %v", off, n, err, bytes.Equal(buf[:n], data[off:off+int64(n)]))
		}
	}
	if n, err := ra.ReadAt(buf, size-40); n != 40 || !errors.Is(err, io.EOF) || !bytes.Equal(buf[:40], data[size-40:]) {
		t.Errorf("ReadAt over the end = %d, %v; want 40, EOF", n, err)
	}
	if n, err := ra.ReadAt(buf, size); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("ReadAt at the end = %d, %v; want 0, EOF", n, err)
	}
}

func noUploadsLeft(t *testing.T, srv *testenv.S3Server) {
	t.Helper()
	out, err := srv.Client().ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: &srv.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) != 0 {
		t.Errorf("%d multipart uploads left open", len(out.Uploads))
	}
}

func putMany(t *testing.T, srv *testenv.S3Server, keys []string) {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, 8)
	)
	client := srv.Client()
	for _, k := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, err := client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: &srv.Bucket, Key: aws.String(k), Body: strings.NewReader(k)})
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

func TestS3(t *testing.T) {
	srv := testenv.StartS3(t)
	useS3(t, srv, srv.Endpoint, S3Options{ListPageSize: 25})
	ctx := t.Context()

	t.Run("small", func(t *testing.T) {
		uri := srv.URI("dir/small.bin")
		data := randomBytes(1, 300_000)
		if err := WriteFile(ctx, uri, data); err != nil {
			t.Fatal(err)
		}
		if got := mustReadAll(t, uri); !bytes.Equal(got, data) {
			t.Fatalf("read %d bytes differing from the %d written", len(got), len(data))
		}
		info, err := Stat(ctx, uri)
		if err != nil || info.Size != int64(len(data)) || info.ModTime.IsZero() {
			t.Fatalf("Stat = %+v, %v", info, err)
		}
		if ok, err := Exists(uri); !ok || err != nil {
			t.Fatalf("Exists = %v, %v", ok, err)
		}
		if ok, err := Exists(srv.URI("dir/nope")); ok || err != nil {
			t.Fatalf("Exists(missing) = %v, %v", ok, err)
		}
		checkRanges(t, uri, data)
	})

	t.Run("empty", func(t *testing.T) {
		uri := srv.URI("empty")
		if err := WriteFile(ctx, uri, nil); err != nil {
			t.Fatal(err)
		}
		if got := mustReadAll(t, uri); len(got) != 0 {
			t.Fatalf("read %d bytes", len(got))
		}
		if got := readRange(t, uri, 0, 10); len(got) != 0 {
			t.Fatalf("range read %d bytes", len(got))
		}
	})

	t.Run("multipart", func(t *testing.T) {
		uri := srv.URI("big/40mib.bin")
		data := randomBytes(2, 40<<20)
		w, err := Create(ctx, uri)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if _, err := w.Write(data[:20<<20]); err != nil {
			t.Fatal(err)
		}
		if _, err := Stat(ctx, uri); !errors.Is(err, ErrNotFound) {
			t.Fatalf("object visible before Commit: %v", err)
		}
		if _, err := w.Write(data[20<<20:]); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		// The ETag Commit expects after a lost answer is the store's.
		if !w.s3.completedEarlier() {
			t.Error("completedEarlier = false for the completed upload")
		}
		head, err := srv.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: &srv.Bucket, Key: aws.String("big/40mib.bin")})
		if err != nil {
			t.Fatal(err)
		}
		parts := (len(data) + defaultS3PartSize - 1) / defaultS3PartSize
		if etag := aws.ToString(head.ETag); !strings.HasSuffix(strings.Trim(etag, `"`), fmt.Sprintf("-%d", parts)) {
			t.Errorf("ETag %s: want a %d-part multipart upload", etag, parts)
		}
		if got := mustReadAll(t, uri); !bytes.Equal(got, data) {
			t.Fatalf("read %d bytes differing from the %d written", len(got), len(data))
		}
		checkRanges(t, uri, data)
		noUploadsLeft(t, srv)
	})

	t.Run("overwrite", func(t *testing.T) {
		uri := srv.URI("over.txt")
		for _, s := range []string{"first version, longer", "second"} {
			if err := WriteFile(ctx, uri, []byte(s)); err != nil {
				t.Fatal(err)
			}
			if got := string(mustReadAll(t, uri)); got != s {
				t.Fatalf("read %q, want %q", got, s)
			}
		}
	})

	t.Run("close without commit", func(t *testing.T) {
		for _, size := range []int{1000, 17 << 20} {
			uri := srv.URI(fmt.Sprintf("abandoned/%d", size))
			writeChunks(t, uri, randomBytes(3, size), false)
			if _, err := Stat(ctx, uri); !errors.Is(err, ErrNotFound) {
				t.Errorf("%d bytes: object visible after Close without Commit: %v", size, err)
			}
		}
		noUploadsLeft(t, srv)
		// Close without Commit keeps an earlier version whole.
		uri := srv.URI("over.txt")
		writeChunks(t, uri, randomBytes(4, 17<<20), false)
		if got := string(mustReadAll(t, uri)); got != "second" {
			t.Errorf("abandoned write changed the object: %d bytes", len(got))
		}
	})

	t.Run("list", func(t *testing.T) {
		var keys []string
		for i := range 120 {
			keys = append(keys, fmt.Sprintf("many/%03d/part.csv", 119-i))
		}
		putMany(t, srv, append(keys, "many-not/x.csv", "manyx"))
		for _, prefix := range []string{srv.URI("many"), srv.URI("many/")} {
			infos, err := List(ctx, prefix)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, in := range infos {
				got = append(got, in.URI)
				if in.Size != int64(len(strings.TrimPrefix(in.URI, "s3://"+srv.Bucket+"/"))) {
					t.Errorf("%s: size %d", in.URI, in.Size)
				}
			}
			want := make([]string, len(keys))
			for i, k := range keys {
				want[i] = srv.URI(k)
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("List(%s): %d URIs, want %d (first %v)", prefix, len(got), len(want), got[:min(3, len(got))])
			}
		}
		if _, err := List(ctx, srv.URI("no/such/prefix/")); !errors.Is(err, ErrNotFound) {
			t.Errorf("List(missing prefix) = %v, want ErrNotFound", err)
		}
	})

	t.Run("not found", func(t *testing.T) {
		for _, uri := range []string{srv.URI("missing.csv"), "s3://no-such-bucket/x.csv"} {
			_, err := Open(ctx, uri)
			checkNotFound(t, "Open", uri, err)
			_, err = OpenRange(ctx, uri, 10, 10)
			checkNotFound(t, "OpenRange", uri, err)
			_, err = OpenReaderAt(ctx, uri)
			checkNotFound(t, "OpenReaderAt", uri, err)
			_, err = Stat(ctx, uri)
			checkNotFound(t, "Stat", uri, err)
		}
		_, err := List(ctx, "s3://no-such-bucket/")
		checkNotFound(t, "List", "s3://no-such-bucket/", err)
	})

	t.Run("bad URIs", func(t *testing.T) {
		for _, uri := range []string{"s3://", "s3:///key", srv.URI(""), srv.URI("dir/")} {
			if _, err := Open(ctx, uri); err == nil {
				t.Errorf("Open(%q) succeeded", uri)
			}
		}
		if err := CheckWritable(srv.URI("out/")); err != nil {
			t.Errorf("CheckWritable: %v", err)
		}
		if err := CheckWritable("s3:///out"); err == nil {
			t.Errorf("CheckWritable(no bucket) succeeded")
		}
	})
}

func checkNotFound(t *testing.T, op, uri string, err error) {
	t.Helper()
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("%s(%s) = %v, want ErrNotFound", op, uri, err)
		return
	}
	if !strings.Contains(err.Error(), uri) {
		t.Errorf("%s(%s): error %q does not name the URI", op, uri, err)
	}
}

func TestS3AccessDenied(t *testing.T) {
	srv := testenv.StartS3(t)
	if err := (func() error {
		restore := SetS3Options(S3Options{Endpoint: srv.Endpoint, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey})
		defer restore()
		return WriteFile(t.Context(), srv.URI("x.csv"), []byte("a\n1\n"))
	})(); err != nil {
		t.Fatal(err)
	}
	const secret = "wrong-secret-do-not-print"
	t.Cleanup(SetS3Options(S3Options{Endpoint: srv.Endpoint, AccessKeyID: srv.AccessKey, SecretAccessKey: secret}))
	_, err := Open(t.Context(), srv.URI("x.csv"))
	if !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("Open with a bad secret = %v, want ErrAccessDenied", err)
	}
	if errors.Is(err, ErrNotFound) {
		t.Errorf("access denied also matches ErrNotFound: %v", err)
	}
	if msg := err.Error(); strings.Contains(msg, secret) || !strings.Contains(msg, srv.URI("x.csv")) {
		t.Errorf("error %q: must name the URI and not the secret", msg)
	}
	if err := WriteFile(t.Context(), srv.URI("y.csv"), []byte("a")); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("WriteFile with a bad secret = %v, want ErrAccessDenied", err)
	}
}

// TestS3ResumesBrokenReads breaks GET bodies in the middle: the stream
// re-opens the rest each time.
func TestS3ResumesBrokenReads(t *testing.T) {
	srv := testenv.StartS3(t)
	useS3(t, srv, srv.Endpoint, S3Options{})
	uri := srv.URI("resume.bin")
	data := randomBytes(5, 1<<20)
	if err := WriteFile(t.Context(), uri, data); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		fault  testenv.Fault
		breaks int
	}{
		// Each cut delivers half of what is left: progress every time,
		// so more breaks than MaxAttempts (which bounds breaks in a row
		// without progress) still succeed.
		{testenv.FaultCutMidBody, 10},
		// A reset may discard the half body in flight.
		{testenv.FaultResetMidBody, 3},
	} {
		t.Run(c.fault.String(), func(t *testing.T) {
			proxy := testenv.NewFaultProxy(t, srv.Endpoint, testenv.FaultProxyOptions{
				Rate: 1, MaxFaults: c.breaks, Faults: []testenv.Fault{c.fault},
			})
			useS3(t, srv, proxy.URL, S3Options{MaxAttempts: 4})
			if got := mustReadAll(t, uri); !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes differing from the %d written", len(got), len(data))
			}
			if got, want := proxy.Requests(), c.breaks+1; proxy.Total() != c.breaks || got != want {
				t.Errorf("%d requests for %d breaks, want %d (one GET and a re-open per break)", got, proxy.Total(), want)
			}
		})
	}
}

// TestS3ChangedMidRead: an object replaced while a broken read is resumed
// gives an error, never a splice of two versions.
func TestS3ChangedMidRead(t *testing.T) {
	srv := testenv.StartS3(t)
	useS3(t, srv, srv.Endpoint, S3Options{})
	uri := srv.URI("changing.bin")
	data := randomBytes(10, 1<<20)
	if err := WriteFile(t.Context(), uri, data); err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewFaultProxy(t, srv.Endpoint, testenv.FaultProxyOptions{
		Rate: 1, MaxFaults: 1, Faults: []testenv.Fault{testenv.FaultCutMidBody},
	})
	useS3(t, srv, proxy.URL, S3Options{})
	r, err := Open(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	half := make([]byte, len(data)/2)
	if _, err := io.ReadFull(r, half); err != nil || !bytes.Equal(half, data[:len(half)]) {
		t.Fatalf("first half: %v", err)
	}
	if _, err := srv.Client().PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: &srv.Bucket, Key: aws.String("changing.bin"), Body: bytes.NewReader(randomBytes(11, 1<<20)),
	}); err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(r)
	if err == nil || !strings.Contains(err.Error(), "changed") || !strings.Contains(err.Error(), uri) {
		t.Fatalf("reading on after the object changed = %v, want an error naming %s", err, uri)
	}
}

// TestS3CompleteAnswerLost: the store completes a multipart upload but the
// answer never reaches the client; the retried Complete still commits the
// object whole.
func TestS3CompleteAnswerLost(t *testing.T) {
	srv := testenv.StartS3(t)
	proxy := testenv.NewFaultProxy(t, srv.Endpoint, testenv.FaultProxyOptions{
		Rate: 1, MaxFaults: 1, Faults: []testenv.Fault{testenv.FaultResetMidBody},
		Match: func(r *http.Request) bool { return r.Method == http.MethodPost && r.URL.Query().Has("uploadId") },
	})
	useS3(t, srv, proxy.URL, S3Options{PartSize: 5 << 20})
	uri := srv.URI("lost/answer.bin")
	data := randomBytes(9, 11<<20)
	writeChunks(t, uri, data, true)
	// Create, 3 parts, Complete (answer lost), Complete again: versitygw,
	// like AWS, answers a repeated Complete with success; stores that
	// answer NoSuchUpload get a HEAD comparing the ETag.
	if proxy.Total() != 1 || proxy.Requests() < 6 {
		t.Fatalf("%d faults in %d requests, want 1 in 6 or more", proxy.Total(), proxy.Requests())
	}
	if got := mustReadAll(t, uri); !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes differing from the %d written", len(got), len(data))
	}
	noUploadsLeft(t, srv)
}

// TestS3ThroughFaults runs every operation through a proxy that fails about
// 20% of the requests (500, 503 SlowDown, resets before and mid-body).
func TestS3ThroughFaults(t *testing.T) {
	srv := testenv.StartS3(t)
	proxy := testenv.NewFaultProxy(t, srv.Endpoint, testenv.FaultProxyOptions{Rate: 0.2})
	useS3(t, srv, proxy.URL, S3Options{PartSize: 5 << 20, ListPageSize: 5})
	ctx := t.Context()

	want := map[string][]byte{}
	for i := range 20 {
		uri := srv.URI(fmt.Sprintf("faults/small-%02d.bin", i))
		want[uri] = randomBytes(uint64(100+i), 1000+i*5000)
		if err := WriteFile(ctx, uri, want[uri]); err != nil {
			t.Fatal(err)
		}
	}
	big := srv.URI("faults/big.bin")
	want[big] = randomBytes(6, 12<<20)
	writeChunks(t, big, want[big], true)
	writeChunks(t, srv.URI("faults/abandoned.bin"), randomBytes(7, 11<<20), false)

	infos, err := List(ctx, srv.URI("faults/"))
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != len(want) {
		t.Fatalf("List: %d objects, want %d", len(infos), len(want))
	}
	for _, in := range infos {
		data, ok := want[in.URI]
		if !ok || in.Size != int64(len(data)) {
			t.Fatalf("List: unexpected %+v", in)
		}
		info, err := Stat(ctx, in.URI)
		if err != nil || info.Size != in.Size {
			t.Fatalf("Stat(%s) = %+v, %v", in.URI, info, err)
		}
		if got := mustReadAll(t, in.URI); !bytes.Equal(got, data) {
			t.Fatalf("%s: read %d bytes differing from the %d written", in.URI, len(got), len(data))
		}
	}
	checkRanges(t, big, want[big])
	for f, n := range proxy.Injected() {
		t.Logf("injected %-15s %d", f, n)
	}
	t.Logf("%d faults in %d requests", proxy.Total(), proxy.Requests())
	if proxy.Total() < 10 {
		t.Errorf("only %d faults injected", proxy.Total())
	}
	if proxy.Injected()[testenv.FaultResetMidBody] == 0 {
		t.Errorf("no mid-body reset injected")
	}
	proxy.SetEnabled(false)
	noUploadsLeft(t, srv)
}

// TestS3Context: a cancelled context stops a read instead of retrying.
func TestS3Context(t *testing.T) {
	srv := testenv.StartS3(t)
	useS3(t, srv, srv.Endpoint, S3Options{})
	uri := srv.URI("ctx.bin")
	if err := WriteFile(t.Context(), uri, randomBytes(8, 1<<20)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	r, err := Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cancel()
	if _, err := io.ReadAll(r); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel = %v, want context.Canceled", err)
	}
}

func TestIsLoopbackEndpoint(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		want     bool
	}{
		{"http://127.0.0.1:9000", true},
		{"http://127.1.2.3:9000", true},
		{"http://localhost:9000", true},
		{"http://LOCALHOST", true},
		{"http://[::1]:9000", true},
		{"http://10.0.0.5:9000", false},
		{"http://s3:9000", false},
		{"https://s3.eu-west-1.amazonaws.com", false},
		{"http://localhost.example.com", false},
		{"", false},
		{"::not a url", false},
	} {
		if got := isLoopbackEndpoint(tc.endpoint); got != tc.want {
			t.Errorf("isLoopbackEndpoint(%q) = %v, want %v", tc.endpoint, got, tc.want)
		}
	}
}

// TestS3UnsignedPayloadOnLoopback checks, on the wire, that uploads to a
// loopback endpoint carry UNSIGNED-PAYLOAD (single PUT and multipart parts)
// and that the store accepts them: what was written reads back.
func TestS3UnsignedPayloadOnLoopback(t *testing.T) {
	srv := testenv.StartS3(t)
	target, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]string{} // "PUT single" / "PUT part" -> X-Amz-Content-Sha256
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			kind := "PUT single"
			if r.URL.Query().Has("partNumber") {
				kind = "PUT part"
			}
			mu.Lock()
			seen[kind] = r.Header.Get("X-Amz-Content-Sha256")
			mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	useS3(t, srv, proxy.URL, S3Options{PartSize: 5 << 20})

	small, big := randomBytes(3, 1000), randomBytes(4, 11<<20)
	writeChunks(t, srv.URI("unsigned/small.bin"), small, true)
	writeChunks(t, srv.URI("unsigned/big.bin"), big, true)
	if got := mustReadAll(t, srv.URI("unsigned/small.bin")); !bytes.Equal(got, small) {
		t.Error("small object differs after the round trip")
	}
	if got := mustReadAll(t, srv.URI("unsigned/big.bin")); !bytes.Equal(got, big) {
		t.Error("multipart object differs after the round trip")
	}
	for _, kind := range []string{"PUT single", "PUT part"} {
		if got := seen[kind]; got != "UNSIGNED-PAYLOAD" {
			t.Errorf("%s: X-Amz-Content-Sha256 %q, want UNSIGNED-PAYLOAD", kind, got)
		}
	}
}
