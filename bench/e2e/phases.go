package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/batchinfer/batchinfer/cluster"
)

// phase is what a run's history says of one activity type.
type phase struct {
	name        string
	count       int
	first, last time.Time     // first start, last completion
	busy        time.Duration // sum of start-to-close times
	byWorker    map[string]int
}

// phases reads a finished workflow's history and sums it by activity type,
// in the order the types first started: how many ran, the span from the
// first start to the last completion, the summed start-to-close time (busy
// / span is the mean number in flight) and, per worker identity, how many
// each ran. Attempts that failed count in the busy time but not in count.
func phases(ctx context.Context, c client.Client, workflowID, runID string) ([]*phase, error) {
	type open struct {
		name    string
		started time.Time
		worker  string
	}
	scheduled := map[int64]string{}
	running := map[int64]*open{}
	byName := map[string]*phase{}
	var order []*phase
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("reading the history of %s: %w", workflowID, err)
		}
		at := ev.GetEventTime().AsTime()
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			scheduled[ev.GetEventId()] = ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			a := ev.GetActivityTaskStartedEventAttributes()
			// A started event is written when the activity closes (after
			// retries), with the last attempt's start time.
			running[a.GetScheduledEventId()] = &open{name: scheduled[a.GetScheduledEventId()], started: at, worker: a.GetIdentity()}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			o := running[ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()]
			if o == nil {
				continue
			}
			p := byName[o.name]
			if p == nil {
				p = &phase{name: o.name, first: o.started, byWorker: map[string]int{}}
				byName[o.name] = p
				order = append(order, p)
			}
			p.count++
			if o.started.Before(p.first) {
				p.first = o.started
			}
			if at.After(p.last) {
				p.last = at
			}
			p.busy += at.Sub(o.started)
			p.byWorker[o.worker]++
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].first.Before(order[j].first) })
	return order, nil
}

// printPhases prints one line per activity type.
func printPhases(ps []*phase) {
	for _, p := range ps {
		span := p.last.Sub(p.first)
		line := fmt.Sprintf("  %-18s x%-3d span %6.2fs", p.name, p.count, span.Seconds())
		if p.count > 1 && span > 0 {
			line += fmt.Sprintf(", %.1f in flight on average", p.busy.Seconds()/span.Seconds())
		}
		if len(p.byWorker) > 1 {
			var per []string
			for w, n := range p.byWorker {
				per = append(per, fmt.Sprintf("%d: %d", cluster.IdentityPID(w), n))
			}
			sort.Strings(per)
			line += "; per worker " + strings.Join(per, ", ")
		}
		fmt.Println(line)
	}
}
