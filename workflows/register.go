package workflows

import (
	"go.temporal.io/sdk/worker"

	"github.com/batchinfer/batchinfer/activities"
)

// Register adds the workflows and the activities of acts to a worker.
func Register(w worker.Registry, acts *activities.Activities) {
	w.RegisterWorkflow(BatchPredict)
	w.RegisterWorkflow(PredictShards)
	w.RegisterActivity(acts)
}
