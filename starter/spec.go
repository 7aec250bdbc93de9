package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/batchinfer/batchinfer/workflows"
)

// specKeysNotAllowed are flags a spec file may not set.
var specKeysNotAllowed = map[string]bool{"spec": true, "help": true}

// registerSpecFlag adds --spec to a command taking job flags.
func registerSpecFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "spec", "", "job spec file, YAML or JSON, whose keys are this command's flag names without dashes (dataset: [a.csv], model: m/, drift-threshold: 0.6, ...); flags given on the command line win; relative paths are relative to the current directory")
}

// readSpec parses a spec file (YAML or JSON) into flag name -> value.
func readSpec(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--spec: %w", err)
	}
	values := map[string]any{}
	if strings.EqualFold(filepath.Ext(path), ".json") {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&values); err != nil {
			return nil, fmt.Errorf("--spec %s: not a JSON object: %w", path, err)
		}
		return values, nil
	}
	if err := yaml.Unmarshal(b, &values); err != nil {
		return nil, fmt.Errorf("--spec %s: not a YAML mapping: %w", path, err)
	}
	return values, nil
}

// applySpec sets every flag of cmd that the command line did not give
// from the spec file at path (nothing when path is empty).
func applySpec(cmd *cobra.Command, path string) error {
	if path == "" {
		return nil
	}
	values, err := readSpec(path)
	if err != nil {
		return err
	}
	if err := setUnchangedFlags(cmd.Flags(), values, true); err != nil {
		return fmt.Errorf("--spec %s: %w", path, err)
	}
	return nil
}

// setUnchangedFlags sets each flag named by a key of values, unless the
// command line (or an earlier layer) set it already; the flags set are
// marked changed. strict: an unknown key is an error, else it is skipped.
func setUnchangedFlags(fs *pflag.FlagSet, values map[string]any, strict bool) error {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := fs.Lookup(k)
		if f == nil || specKeysNotAllowed[k] {
			if strict {
				return fmt.Errorf("unknown key %q: keys are the command's flag names, such as dataset, model, label-columns", k)
			}
			continue
		}
		if f.Changed || values[k] == nil {
			continue
		}
		if err := setFlag(fs, f, values[k]); err != nil {
			return fmt.Errorf("key %q: %w", k, err)
		}
	}
	return nil
}

func setFlag(fs *pflag.FlagSet, f *pflag.Flag, v any) error {
	if list, ok := v.([]any); ok {
		sv, isSlice := f.Value.(pflag.SliceValue)
		if !isSlice {
			return fmt.Errorf("takes one value, not a list")
		}
		strs := make([]string, 0, len(list))
		for _, e := range list {
			s, err := scalarString(e)
			if err != nil {
				return err
			}
			strs = append(strs, s)
		}
		if err := sv.Replace(strs); err != nil {
			return err
		}
		f.Changed = true
		return nil
	}
	s, err := scalarString(v)
	if err != nil {
		return err
	}
	if sv, isSlice := f.Value.(pflag.SliceValue); isSlice && f.Value.Type() == "stringArray" {
		// One string, one element (no comma splitting).
		if err := sv.Replace([]string{s}); err != nil {
			return err
		}
		f.Changed = true
		return nil
	}
	return fs.Set(f.Name, s)
}

func scalarString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case json.Number:
		return x.String(), nil
	default:
		return "", fmt.Errorf("want a string, number or boolean, got %T", v)
	}
}

// inputSpec is a job input as a spec (flag name -> value): what `schedule
// describe` shows, and what `schedule update` keeps for flags not given.
func inputSpec(in workflows.BatchPredictInput) map[string]any {
	m := map[string]any{}
	put := func(k string, v any, zero bool) {
		if !zero {
			m[k] = v
		}
	}
	list := func(ss []string) []any {
		out := make([]any, len(ss))
		for i, s := range ss {
			out[i] = s
		}
		return out
	}
	put("dataset", list(in.Dataset), len(in.Dataset) == 0)
	put("model", in.Model, in.Model == "")
	put("label-columns", list(in.LabelColumns), len(in.LabelColumns) == 0)
	put("drop-columns", list(in.DropColumns), len(in.DropColumns) == 0)
	put("result-set", in.ResultSet, in.ResultSet == "")
	put("result-format", in.ResultFormat, in.ResultFormat == "")
	put("artifact-path", in.ArtifactPath, in.ArtifactPath == "")
	put("sample-set-statistics", in.SampleSetStatistics, in.SampleSetStatistics == "")
	put("drift-threshold", in.DriftThreshold, in.DriftThreshold == 0)
	put("possible-drift-threshold", in.PossibleDriftThreshold, in.PossibleDriftThreshold == 0)
	put("perform-drift-analysis", in.PerformDriftAnalysis, in.PerformDriftAnalysis == "")
	put("batch-id", in.BatchID, in.BatchID == "")
	put("predict-proba", in.PredictProba, !in.PredictProba)
	put("job", in.Job, in.Job == "")
	put("shard-rows", in.ShardRows, in.ShardRows == 0)
	put("shard-bytes", in.ShardBytes, in.ShardBytes == 0)
	put("max-parallel", in.MaxParallel, in.MaxParallel == 0)
	put("chunk-rows", in.ChunkRows, in.ChunkRows == 0)
	put("heartbeat-timeout", in.HeartbeatTimeout.String(), in.HeartbeatTimeout == 0)
	put("categorical-columns", list(in.CategoricalColumns), len(in.CategoricalColumns) == 0)
	return m
}
