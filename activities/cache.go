package activities

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/batchinfer/batchinfer/internal/bundle"
	"github.com/batchinfer/batchinfer/internal/scoring"
	"github.com/batchinfer/batchinfer/internal/stats"
)

// cacheSize bounds each per-worker cache (entries).
const cacheSize = 8

// lru is a tiny bounded cache; a worker runs many shards of the same run,
// so parsed models, manifests and reference statistics are reused.
type lru[V any] struct {
	mu    sync.Mutex
	keys  []string
	items map[string]V
}

func (c *lru[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.items[key]
	return v, ok
}

func (c *lru[V]) put(key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.items = map[string]V{}
	}
	if _, ok := c.items[key]; !ok {
		c.keys = append(c.keys, key)
		if len(c.keys) > cacheSize {
			delete(c.items, c.keys[0])
			c.keys = c.keys[1:]
		}
	}
	c.items[key] = v
}

var (
	modelCache     lru[*scoring.Model]
	manifestCache  lru[*scoring.Manifest]
	referenceCache lru[*stats.Dataset]
)

// model loads a model; parsed models are cached by the SHA-256 of their
// bytes (and spec), so a model file replaced between runs is reloaded.
func (a *Activities) model(ctx context.Context, uri string) (*scoring.Model, error) {
	l, err := bundle.Load(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadModel, err)
	}
	h := sha256.New()
	h.Write(l.Data)
	if l.Spec != nil {
		fmt.Fprintf(h, "%s|%v|%v", l.SpecURI, l.Spec.Inputs, l.Spec.Outputs)
	}
	key := fmt.Sprintf("%x", h.Sum(nil))
	if m, ok := modelCache.get(key); ok {
		return m, nil
	}
	m, err := scoring.NewModel(l)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadModel, err)
	}
	modelCache.put(key, m)
	return m, nil
}

// manifest loads a run's shard plan; plans are immutable once written.
func (a *Activities) manifest(ctx context.Context, uri string) (*scoring.Manifest, error) {
	if m, ok := manifestCache.get(uri); ok {
		return m, nil
	}
	m, err := scoring.ReadManifest(ctx, uri)
	if err != nil {
		return nil, err
	}
	manifestCache.put(uri, m)
	return m, nil
}

// reference loads a run's reference statistics (immutable once copied
// into the run folder).
func (a *Activities) reference(ctx context.Context, uri string) (*stats.Dataset, error) {
	if d, ok := referenceCache.get(uri); ok {
		return d, nil
	}
	d, err := readStats(ctx, uri)
	if err != nil {
		return nil, err
	}
	referenceCache.put(uri, d)
	return d, nil
}
