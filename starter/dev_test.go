package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/batchinfer/batchinfer/activities"
)

// TestDevNoWorker starts the embedded server as `starter dev` does, with
// and without --no-worker, and counts the pollers of the batchinfer task
// queue: none without the worker, one poller once it runs.
func TestDevNoWorker(t *testing.T) {
	for _, noWorker := range []bool{true, false} {
		var out bytes.Buffer
		env, err := startDev(t.Context(), devFlags{port: -1, uiPort: -1, noWorker: noWorker}, &out)
		if err != nil {
			t.Fatal(err)
		}
		pollers := func() int {
			resp, err := env.c.DescribeTaskQueue(t.Context(), activities.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
			if err != nil {
				t.Fatal(err)
			}
			return len(resp.GetPollers())
		}
		n := pollers()
		if !noWorker {
			for deadline := time.Now().Add(20 * time.Second); n == 0 && time.Now().Before(deadline); n = pollers() {
				time.Sleep(50 * time.Millisecond)
			}
		} else {
			time.Sleep(time.Second) // a worker, if one ran, would poll by now
			n = pollers()
		}
		env.stop()
		want := map[bool]string{true: "none (--no-worker)", false: "polling task queue"}[noWorker]
		if !strings.Contains(out.String(), want) {
			t.Errorf("noWorker=%v: output lacks %q:\n%s", noWorker, want, out.String())
		}
		if noWorker && n != 0 {
			t.Errorf("--no-worker: %d pollers on %s, want 0", n, activities.TaskQueue)
		}
		if !noWorker && n == 0 {
			t.Errorf("with the worker: no poller on %s after 20 s", activities.TaskQueue)
		}
	}
}
