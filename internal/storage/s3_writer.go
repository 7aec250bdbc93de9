package storage

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// s3Writer streams an object to S3: data smaller than one part goes up in
// a single PUT at Commit; larger data goes to a multipart upload, part by
// part while it is written (UploadConcurrency parts at a time), completed
// by Commit and aborted by Close without Commit, so the key never shows a
// partial object.
type s3Writer struct {
	ctx         context.Context
	st          *s3Store
	uri         string
	bucket, key string

	buf      []byte
	uploadID string
	nextPart int32
	// strays is the time window of a CreateMultipartUpload that needed
	// retries: an earlier attempt may have created an upload whose answer
	// was lost.
	strays [2]time.Time

	sem chan struct{}
	wg  sync.WaitGroup

	mu    sync.Mutex
	parts []types.CompletedPart
	err   error // first upload error
}

func s3Create(ctx context.Context, uri string) (*s3Writer, error) {
	bucket, key, err := parseS3Object(uri)
	if err != nil {
		return nil, err
	}
	st, err := getS3()
	if err != nil {
		return nil, err
	}
	return &s3Writer{
		ctx: ctx, st: st, uri: uri, bucket: bucket, key: key,
		sem: make(chan struct{}, st.opts.UploadConcurrency),
	}, nil
}

func (w *s3Writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *s3Writer) Write(p []byte) (int, error) {
	if err := w.failed(); err != nil {
		return 0, err
	}
	size := int(w.st.opts.PartSize)
	n := 0
	for len(p) > 0 {
		if w.buf == nil {
			// Copied, never aliased: the caller may reuse p. A recycled
			// part buffer when there is one; a whole new part for an
			// object already multipart or given a part at once; else
			// (a small object, so far) append grows the buffer.
			w.buf = w.st.recycledPart()
			if w.buf == nil && (w.nextPart > 0 || len(p) >= size) {
				w.buf = make([]byte, 0, size)
			}
		}
		k := min(len(p), size-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		n += k
		if len(w.buf) == size {
			if err := w.flushPart(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// flushPart starts uploading the buffered part in the background.
func (w *s3Writer) flushPart() error {
	if w.uploadID == "" {
		start := time.Now()
		out, err := w.st.api.CreateMultipartUpload(w.ctx, &s3.CreateMultipartUploadInput{Bucket: &w.bucket, Key: &w.key})
		if err != nil {
			return w.fail(fmt.Errorf("starting upload of %s: %w", w.uri, s3Err(err)))
		}
		w.uploadID = aws.ToString(out.UploadId)
		if res, ok := retry.GetAttemptResults(out.ResultMetadata); ok && len(res.Results) > 1 {
			w.strays = [2]time.Time{start, time.Now()}
		}
	}
	w.nextPart++
	num, data := w.nextPart, w.buf
	w.buf = nil
	select {
	case w.sem <- struct{}{}:
	case <-w.ctx.Done():
		return w.fail(fmt.Errorf("writing %s: %w", w.uri, w.ctx.Err()))
	}
	w.wg.Go(func() {
		defer func() { <-w.sem }()
		out, err := w.st.api.UploadPart(w.ctx, &s3.UploadPartInput{
			Bucket: &w.bucket, Key: &w.key, UploadId: &w.uploadID,
			PartNumber: aws.Int32(num), Body: bytes.NewReader(data),
			ContentLength: aws.Int64(int64(len(data))),
		})
		w.st.recyclePart(data) // the request is over, retries included
		if err != nil {
			_ = w.fail(fmt.Errorf("uploading part %d of %s: %w", num, w.uri, s3Err(err)))
			return
		}
		w.mu.Lock()
		w.parts = append(w.parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
		w.mu.Unlock()
	})
	return nil
}

func (w *s3Writer) fail(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
	return w.err
}

func (w *s3Writer) Commit() error {
	if w.uploadID == "" {
		data := w.buf
		w.buf = nil
		_, err := w.st.api.PutObject(w.ctx, &s3.PutObjectInput{
			Bucket: &w.bucket, Key: &w.key, Body: bytes.NewReader(data),
			ContentLength: aws.Int64(int64(len(data))),
		})
		w.st.recyclePart(data)
		if err != nil {
			return fmt.Errorf("writing %s: %w", w.uri, s3Err(err))
		}
		return nil
	}
	if len(w.buf) > 0 {
		if err := w.flushPart(); err != nil {
			w.abort()
			return err
		}
	}
	w.wg.Wait()
	if err := w.failed(); err != nil {
		w.abort()
		return err
	}
	slices.SortFunc(w.parts, func(a, b types.CompletedPart) int { return int(*a.PartNumber - *b.PartNumber) })
	_, err := w.st.api.CompleteMultipartUpload(w.ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &w.bucket, Key: &w.key, UploadId: &w.uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: w.parts},
	})
	if err != nil && isS3Code(err, "NoSuchUpload") && w.completedEarlier() {
		// An earlier attempt completed the upload but its answer was
		// lost; the retry finds the upload gone.
		err = nil
	}
	if err != nil {
		w.abort()
		return fmt.Errorf("completing upload of %s: %w", w.uri, s3Err(err))
	}
	w.abortStrays()
	return nil
}

// strayMargin widens the window in which an upload counts as a stray of
// this writer, for the store's clock and timestamp rounding.
const strayMargin = 2 * time.Second

// abortStrays aborts the uploads of this key that a retried
// CreateMultipartUpload may have started without the writer learning of
// them: those initiated while it ran. (Another writer of the same key
// starting an upload in that same window would lose it and fail its
// Commit; keys here are written by one task at a time.) Best effort: a
// bucket lifecycle rule for incomplete uploads is the backstop.
func (w *s3Writer) abortStrays() {
	if w.strays[0].IsZero() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), time.Minute)
	defer cancel()
	out, err := w.st.api.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &w.bucket, Prefix: &w.key})
	if err != nil {
		return
	}
	from, to := w.strays[0].Add(-strayMargin), w.strays[1].Add(strayMargin)
	for _, u := range out.Uploads {
		if aws.ToString(u.Key) != w.key || aws.ToString(u.UploadId) == w.uploadID || u.Initiated == nil ||
			u.Initiated.Before(from) || u.Initiated.After(to) {
			continue
		}
		_, _ = w.st.api.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &w.bucket, Key: &w.key, UploadId: u.UploadId})
	}
}

// completedEarlier reports whether the key holds the object this upload
// would have completed, by its multipart ETag: the MD5 of the parts' MD5s,
// "-" and the part count, where the parts' MD5s are the part ETags the
// store returned (so no MD5 of the data is computed here). A store whose
// part ETags are not MD5s (32 hex digits) gives false: Commit then fails
// and the retried task writes the object again.
func (w *s3Writer) completedEarlier() bool {
	h := md5.New()
	for _, p := range w.parts {
		sum, err := hex.DecodeString(strings.Trim(aws.ToString(p.ETag), `"`))
		if err != nil || len(sum) != md5.Size {
			return false
		}
		h.Write(sum)
	}
	want := fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(w.parts))
	out, err := w.st.api.HeadObject(w.ctx, &s3.HeadObjectInput{Bucket: &w.bucket, Key: &w.key})
	if err != nil {
		return false
	}
	return strings.Trim(aws.ToString(out.ETag), `"`) == want
}

// abort waits for uploads in flight and removes the multipart upload, even
// when the writer's context is done.
func (w *s3Writer) abort() {
	w.wg.Wait()
	if w.uploadID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), time.Minute)
	defer cancel()
	// An error leaves stray parts but nothing visible under the key; a
	// bucket lifecycle rule for incomplete uploads removes them.
	_, _ = w.st.api.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &w.bucket, Key: &w.key, UploadId: &w.uploadID})
	w.abortStrays()
	w.uploadID = ""
}
