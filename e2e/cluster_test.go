package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/batchinfer/batchinfer/cluster"
	"github.com/batchinfer/batchinfer/internal/procs"
	"github.com/batchinfer/batchinfer/internal/storage"
	"github.com/batchinfer/batchinfer/internal/testenv"
	"github.com/batchinfer/batchinfer/platform"
	"github.com/batchinfer/batchinfer/workflows"
)

// Dataset sizes. A (Parquet, one row group per shard) is big enough that
// a Predict takes a noticeable time, so a worker can be killed in the
// middle of one; B (CSV) is cut into 1 and into 37 shards.
const (
	shardsA    = 24
	groupRowsA = 25_000
	rowsB      = 300_000
	shardsB    = 37
	// maxParallel is BatchPredictInput.MaxParallel of every run: with
	// three workers of two activity slots each, every slot is busy.
	maxParallel = 6
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// env is what the subtests of TestCluster share.
type env struct {
	s3       *testenv.S3Server
	dev      *cluster.DevServer
	model    string // model bundle URI in S3
	datasetA string // Parquet, shardsA row groups
	datasetB string // CSV, rowsB rows
	bytesB   int64  // ShardBytes cutting B into shardsB shards
}

// TestCluster runs BatchPredict on a real Temporal dev server process,
// worker processes and a versitygw S3 server:
//
//   - reference: the Parquet dataset A (24 shards) on one worker;
//   - KillWorker: A on three workers, one killed with SIGKILL in the middle
//     of a Predict; the run completes with the reference's outputs and the
//     shards spread over the workers;
//   - FaultProxy: A on two workers whose S3 traffic goes through a proxy
//     failing 15% of the requests (errors, resets); same outputs;
//   - Shards1vs37: the CSV dataset B as 1 and as 37 shards: statistics and
//     drift identical under the drift issue's rule, the same rows.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with server and worker processes; skipped with -short")
	}
	start := time.Now()
	bin := binaries(t)
	e := &env{s3: testenv.StartS3(t)}
	e.dev = startDevServer(t, bin)
	t.Logf("dev server %s, S3 %s, ready after %v", e.dev.HostPort, e.s3.Endpoint, time.Since(start).Round(100*time.Millisecond))
	e.upload(t)

	startWorkers(t, e.dev, "e2e-single", e.s3.Endpoint, 1, 2)
	t0 := time.Now()
	ref := readOutputs(t, "reference (1 worker)", e.run(t, "e2e-single", e.jobA("reference"), 3*time.Minute))
	if ref.manifest.Shards != shardsA || ref.manifest.Rows != shardsA*groupRowsA {
		t.Fatalf("reference run: %d shards, %d rows; want %d, %d", ref.manifest.Shards, ref.manifest.Rows, shardsA, shardsA*groupRowsA)
	}
	t.Logf("reference run: %d rows, %d shards, %d parts in %v", ref.manifest.Rows, ref.manifest.Shards, len(ref.parts), time.Since(t0).Round(100*time.Millisecond))

	t.Run("KillWorker", func(t *testing.T) {
		t.Parallel()
		e.killWorker(t, ref)
	})
	t.Run("FaultProxy", func(t *testing.T) {
		t.Parallel()
		e.faultProxy(t, ref)
	})
	t.Run("Shards1vs37", func(t *testing.T) {
		t.Parallel()
		e.shards1vs37(t)
	})
}

// upload puts the demo model bundle and datasets A and B into S3.
func (e *env) upload(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	for _, f := range []string{"bundle.json", "model.json"} {
		b, err := os.ReadFile(filepath.Join(demoDir(t), "model", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := storage.WriteFile(ctx, e.s3.URI("models/demo/"+f), b); err != nil {
			t.Fatal(err)
		}
	}
	e.model = e.s3.URI("models/demo/bundle.json")

	bb := newBigBatch(t)
	pq := bb.parquet(t, shardsA, groupRowsA)
	e.datasetA = e.s3.URI("data/a/batch.parquet")
	if err := storage.WriteFile(ctx, e.datasetA, pq); err != nil {
		t.Fatal(err)
	}
	csvB := bb.csv(rowsB)
	local := writeTemp(t, "b.csv", csvB)
	e.bytesB = csvShardBytes(t, local, int64(len(csvB)), shardsB)
	e.datasetB = e.s3.URI("data/b/batch.csv")
	if err := storage.WriteFile(ctx, e.datasetB, csvB); err != nil {
		t.Fatal(err)
	}
	t.Logf("dataset A: %s, %d rows in %d row groups (%s); dataset B: %s, %d rows (%s), %d shards at ShardBytes %d",
		e.datasetA, shardsA*groupRowsA, shardsA, describeSize(len(pq)), e.datasetB, rowsB, describeSize(len(csvB)), shardsB, e.bytesB)
}

// jobA is a job over dataset A, one shard per row group.
func (e *env) jobA(name string) workflows.BatchPredictInput {
	return workflows.BatchPredictInput{
		Dataset:              []string{e.datasetA},
		Model:                e.model,
		ArtifactPath:         e.s3.URI("runs/" + name),
		BatchID:              name,
		PerformDriftAnalysis: "true",
		ShardRows:            groupRowsA,
		MaxParallel:          maxParallel,
		// A killed worker's shard is retried after this; chunks of a
		// quarter shard make the retry resume part-way.
		HeartbeatTimeout: 15 * time.Second,
		ChunkRows:        groupRowsA / 4,
	}
}

// start starts a job on taskQueue.
func (e *env) start(t *testing.T, taskQueue string, in workflows.BatchPredictInput) client.WorkflowRun {
	t.Helper()
	run, err := platform.StartJob(t.Context(), e.dev.Client, taskQueue, in)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// wait waits (bounded) for a run's result.
func wait(t *testing.T, run client.WorkflowRun, timeout time.Duration) *workflows.BatchPredictResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var res workflows.BatchPredictResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("run %s: %v", run.GetID(), err)
	}
	return &res
}

// run starts a job and waits for its result.
func (e *env) run(t *testing.T, taskQueue string, in workflows.BatchPredictInput, timeout time.Duration) *workflows.BatchPredictResult {
	t.Helper()
	return wait(t, e.start(t, taskQueue, in), timeout)
}

// killWorker runs dataset A on three workers and kills one with SIGKILL
// while it executes a Predict that has heartbeated, after at least one
// shard is done. The killed worker's activities are retried elsewhere
// after the heartbeat timeout (15 s in this test's jobs).
func (e *env) killWorker(t *testing.T, ref *runOutputs) {
	ctx := t.Context()
	ws := startWorkers(t, e.dev, "e2e-kill", e.s3.Endpoint, 3, 2)
	run := e.start(t, "e2e-kill", e.jobA("kill"))

	// The kill must land inside a Predict: pick a started Predict that has
	// heartbeated (the SDK sends the first heartbeat at once and throttles
	// the next ones, so its details are often the first), on a live worker,
	// and kill that worker at once: only a describe call separates the
	// check from the kill (a Predict here takes a tenth of a second or so). If the Predict still
	// completed before the kill (it is gone from the pending activities
	// afterwards), try again on another worker.
	victims := map[string]bool{} // identities of killed workers
	var victim *procs.Proc
	pending := func(id, identity string) (bool, error) {
		desc, err := e.dev.Client.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
		if err != nil {
			return false, err
		}
		for _, pa := range desc.GetPendingActivities() {
			if pa.GetActivityId() == id && pa.GetLastWorkerIdentity() == identity {
				return true, nil
			}
		}
		return false, nil
	}
	waitFor(t, 3*time.Minute, 5*time.Millisecond, "a worker executing a Predict that heartbeated", func() (bool, error) {
		desc, err := e.dev.Client.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
		if err != nil {
			return false, err
		}
		if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Fatalf("the run ended (%v) before a worker could be killed in the middle of a Predict", st)
		}
		for _, pa := range desc.GetPendingActivities() {
			hb := pa.GetHeartbeatDetails().GetPayloads()
			if pa.GetActivityType().GetName() != "Predict" || pa.GetState() != enumspb.PENDING_ACTIVITY_STATE_STARTED ||
				len(hb) == 0 || victims[pa.GetLastWorkerIdentity()] {
				continue
			}
			var progress struct{ NextChunk int }
			if err := converter.GetDefaultDataConverter().FromPayload(hb[0], &progress); err != nil {
				return false, fmt.Errorf("heartbeat details of Predict %s: %w", pa.GetActivityId(), err)
			}
			pid := cluster.IdentityPID(pa.GetLastWorkerIdentity())
			for _, w := range ws {
				if w.PID() != pid || w.Exited() {
					continue
				}
				w.Kill()
				victims[pa.GetLastWorkerIdentity()] = true
				hit, err := pending(pa.GetActivityId(), pa.GetLastWorkerIdentity())
				if err != nil {
					return false, err
				}
				t.Logf("killed %s (pid %d) with SIGKILL while it ran Predict activity %s (attempt %d, next chunk %d, heartbeat at %v); still pending after the kill: %v",
					w.Name, pid, pa.GetActivityId(), pa.GetAttempt(), progress.NextChunk,
					pa.GetLastHeartbeatTime().AsTime().Format(time.RFC3339Nano), hit)
				if !hit && len(victims) < len(ws)-1 {
					return false, nil // it finished first: another worker
				}
				victim = w
				return true, nil
			}
		}
		return false, nil
	})
	if !victim.Exited() {
		t.Fatalf("%s is still running after SIGKILL", victim.Name)
	}
	killed := time.Now()
	res := wait(t, run, 6*time.Minute)
	t.Logf("the run completed %v after the kill", time.Since(killed).Round(100*time.Millisecond))
	got := readOutputs(t, "3 workers, one killed", res)
	sameOutputs(t, ref, got)

	// Who did what, from the history: Predicts completed by at least two
	// workers, and at least one retried after a heartbeat timeout and
	// completed by another worker than the killed one.
	acts := completedActivities(t, e.dev.Client, run)
	byWorker := map[string]int{}
	retried := 0
	for _, a := range acts {
		if a.typ != "Predict" {
			continue
		}
		byWorker[a.identity]++
		if a.attempt > 1 {
			if victims[a.identity] {
				t.Errorf("Predict %s attempt %d completed by the killed worker %s", a.id, a.attempt, a.identity)
			}
			if a.heartbeatTimeout {
				retried++
			}
		}
	}
	t.Logf("completed Predict activities per worker: %v; %d retried after a heartbeat timeout", byWorker, retried)
	if len(byWorker) < 2 {
		t.Errorf("Predict activities completed by %d worker(s), want at least 2: %v", len(byWorker), byWorker)
	}
	if retried == 0 {
		t.Errorf("no Predict was retried after a heartbeat timeout: the kill did not interrupt a Predict")
	}
}

// faultProxy runs dataset A on two workers whose S3 endpoint is a proxy
// failing a fraction of the requests.
func (e *env) faultProxy(t *testing.T, ref *runOutputs) {
	proxy := testenv.NewFaultProxy(t, e.s3.Endpoint, testenv.FaultProxyOptions{Rate: 0.15})
	startWorkers(t, e.dev, "e2e-faults", proxy.URL, 2, 2)
	t0 := time.Now()
	res := e.run(t, "e2e-faults", e.jobA("faults"), 4*time.Minute)
	t.Logf("run through the fault proxy done in %v: %d requests, %d faults injected %v",
		time.Since(t0).Round(100*time.Millisecond), proxy.Requests(), proxy.Total(), proxy.Injected())
	if proxy.Total() == 0 {
		t.Errorf("the proxy injected no fault")
	}
	sameOutputs(t, ref, readOutputs(t, "through the fault proxy", res))
}

// shards1vs37 runs dataset B as one shard and as 37 on the single worker.
func (e *env) shards1vs37(t *testing.T) {
	job := func(name string, bytes int64) workflows.BatchPredictInput {
		return workflows.BatchPredictInput{
			Dataset: []string{e.datasetB}, Model: e.model, ArtifactPath: e.s3.URI("runs/" + name), BatchID: name,
			PerformDriftAnalysis: "true", ShardBytes: bytes, MaxParallel: maxParallel,
		}
	}
	t0 := time.Now()
	runOne := e.start(t, "e2e-single", job("one-shard", 1<<40))
	runMany := e.start(t, "e2e-single", job("37-shards", e.bytesB))
	one := readOutputs(t, "1 shard", wait(t, runOne, 4*time.Minute))
	many := readOutputs(t, "37 shards", wait(t, runMany, 4*time.Minute))
	t.Logf("1-shard and 37-shard runs done in %v", time.Since(t0).Round(100*time.Millisecond))
	if one.manifest.Shards != 1 || many.manifest.Shards != shardsB {
		t.Fatalf("shards: %d and %d, want 1 and %d", one.manifest.Shards, many.manifest.Shards, shardsB)
	}
	if one.manifest.Rows != rowsB || many.manifest.Rows != rowsB {
		t.Fatalf("rows: %d and %d, want %d", one.manifest.Rows, many.manifest.Rows, rowsB)
	}
	sameStatisticsRule(t, "dataset_statistics.json, 1 vs 37 shards", one.files["dataset_statistics"], many.files["dataset_statistics"])
	for _, k := range jsonArtifacts[1:] {
		sameJSON(t, k+", 1 vs 37 shards", one.files[k], many.files[k])
	}
	if one.manifest.DriftMetric != many.manifest.DriftMetric || one.manifest.DriftStatus != many.manifest.DriftStatus {
		t.Errorf("drift: %v %v vs %v %v", one.manifest.DriftMetric, one.manifest.DriftStatus, many.manifest.DriftMetric, many.manifest.DriftStatus)
	}
	// The same rows in the same order, whatever the parts.
	a, b := concatRows(t, one.parts), concatRows(t, many.parts)
	if len(a) != len(b) {
		t.Fatalf("result sets: %d vs %d values", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("result sets differ at value %d: %v vs %v", i, a[i], b[i])
		}
	}
	t.Logf("result sets: %d and %d parts, the same %d values", len(one.parts), len(many.parts), len(a))
}

// concatRows decodes parts in order into one list of values, the column
// header once.
func concatRows(t *testing.T, parts []string) []any {
	t.Helper()
	var all []any
	header := 0
	for i, p := range parts {
		r, err := decodeRows(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		h := 0
		for h < len(r) {
			if _, ok := r[h].(string); !ok {
				break
			}
			h++
		}
		if i == 0 {
			header = h
			all = append(all, r...)
			continue
		}
		if h != header {
			t.Fatalf("part %s has %d columns, the first part %d", p, h, header)
		}
		all = append(all, r[h:]...)
	}
	return all
}

// activityRun is one completed activity from a workflow's history.
type activityRun struct {
	id, typ, identity string
	attempt           int32
	heartbeatTimeout  bool // the attempt before this one timed out on heartbeats
}

// completedActivities reads a run's history and returns its completed
// activities with the identity of the worker that completed them.
func completedActivities(t *testing.T, c client.Client, run client.WorkflowRun) []activityRun {
	t.Helper()
	type sched struct{ id, typ string }
	scheduled := map[int64]sched{}
	started := map[int64]activityRun{}
	var out []activityRun
	it := c.GetWorkflowHistory(t.Context(), run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("reading the history: %v", err)
		}
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			a := ev.GetActivityTaskScheduledEventAttributes()
			scheduled[ev.GetEventId()] = sched{a.GetActivityId(), a.GetActivityType().GetName()}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			a := ev.GetActivityTaskStartedEventAttributes()
			s := scheduled[a.GetScheduledEventId()]
			started[ev.GetEventId()] = activityRun{
				id: s.id, typ: s.typ, identity: a.GetIdentity(), attempt: a.GetAttempt(),
				heartbeatTimeout: a.GetLastFailure().GetTimeoutFailureInfo().GetTimeoutType() == enumspb.TIMEOUT_TYPE_HEARTBEAT,
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			out = append(out, started[ev.GetActivityTaskCompletedEventAttributes().GetStartedEventId()])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}
