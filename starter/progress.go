package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"golang.org/x/term"

	"github.com/batchinfer/batchinfer/workflows"
)

// progressEvery is how often the progress query is polled.
const progressEvery = 500 * time.Millisecond

// showProgress decides on the progress bar: never with --json; --progress
// (or --progress=false) decides when given; else when stdout is a terminal.
func showProgress(cmd *cobra.Command, out io.Writer, forced, asJSON bool) bool {
	if asJSON {
		return false
	}
	if cmd.Flags().Changed("progress") {
		return forced
	}
	f, ok := out.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// queryProgress asks a running BatchPredict for its progress.
func queryProgress(ctx context.Context, c client.Client, workflowID, runID string) (workflows.Progress, error) {
	var p workflows.Progress
	v, err := c.QueryWorkflow(ctx, workflowID, runID, workflows.QueryProgress)
	if err != nil {
		return p, err
	}
	err = v.Get(&p)
	return p, err
}

// watchProgress draws a progress bar on w from the progress query (rows
// scored of the total, rate, ETA; a spinner while the total is unknown)
// until the returned stop is called with the run's outcome (and its rows).
func watchProgress(ctx context.Context, c client.Client, workflowID, runID string, w io.Writer) (stop func(ok bool, rows int64)) {
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("starting"),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetRenderBlankState(true),
	)
	ctx, cancel := context.WithCancel(ctx)
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	update := func(p workflows.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if p.RowsTotal > 0 && bar.GetMax64() != p.RowsTotal {
			bar.ChangeMax64(p.RowsTotal)
		}
		desc := p.Stage
		if p.ShardsTotal > 0 {
			desc = fmt.Sprintf("%s, %d/%d shards", p.Stage, p.ShardsDone, p.ShardsTotal)
		}
		bar.Describe(desc)
		_ = bar.Set64(p.Rows)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			qctx, qcancel := context.WithTimeout(ctx, 5*time.Second)
			p, err := queryProgress(qctx, c, workflowID, runID)
			qcancel()
			if err == nil {
				update(p)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func(ok bool, rows int64) {
		cancel()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		if ok {
			if rows > 0 && bar.GetMax64() != rows {
				bar.ChangeMax64(rows)
			}
			bar.Describe(workflows.StageDone)
			_ = bar.Set64(rows)
			_ = bar.Finish()
		} else {
			_ = bar.Exit()
		}
		fmt.Fprintln(w)
	}
}
