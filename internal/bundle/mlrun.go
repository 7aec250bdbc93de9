package bundle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/batchinfer/batchinfer/internal/storage"
)

// MLRunSpecFile is the spec of a model logged by MLRun (log_model), found
// in the model's artifact folder beside the model file.
const MLRunSpecFile = "model_spec.yaml"

// mlrunSpec is the part of model_spec.yaml batchinfer reads.
type mlrunSpec struct {
	Kind string `yaml:"kind"`
	Spec struct {
		ModelFile    string    `yaml:"model_file"`
		Framework    string    `yaml:"framework"`
		Algorithm    string    `yaml:"algorithm"`
		Inputs       []Feature `yaml:"inputs"`
		Outputs      []Feature `yaml:"outputs"`
		FeatureStats yaml.Node `yaml:"feature_stats"`
	} `yaml:"spec"`
}

// loadMLRun reads an MLRun model folder: model_spec.yaml's spec.model_file,
// spec.inputs, spec.outputs and spec.feature_stats (the training set's
// statistics, which become the drift reference).
func loadMLRun(ctx context.Context, specURI string) (*Loaded, error) {
	b, err := storage.ReadAll(ctx, specURI, 256<<20)
	if err != nil {
		return nil, fmt.Errorf("MLRun model %s: %w", specURI, err)
	}
	var ms mlrunSpec
	if err := yamlUnmarshal(b, &ms); err != nil {
		return nil, fmt.Errorf("MLRun model %s: %w: %v", specURI, ErrNotBundle, err)
	}
	file := ms.Spec.ModelFile
	if file == "" || strings.Contains(file, "..") || strings.HasPrefix(file, "/") || strings.Contains(file, "://") {
		return nil, fmt.Errorf("MLRun model %s: spec.model_file %q must name a file in the model folder", specURI, file)
	}
	spec := &Spec{
		Kind:      Kind,
		Version:   1,
		Framework: ms.Spec.Framework,
		ModelFile: file,
		Inputs:    ms.Spec.Inputs,
		Outputs:   ms.Spec.Outputs,
	}
	if ms.Spec.FeatureStats.Kind != 0 {
		if spec.FeatureStats, err = yamlToJSON(&ms.Spec.FeatureStats); err != nil {
			return nil, fmt.Errorf("MLRun model %s: spec.feature_stats: %w", specURI, err)
		}
	}
	modelURI := sibling(specURI, file)
	model, err := storage.ReadAll(ctx, modelURI, MaxModelBytes)
	if err != nil {
		return nil, fmt.Errorf("MLRun model %s: %w", specURI, err)
	}
	return &Loaded{URI: modelURI, Data: model, Spec: spec, SpecURI: specURI}, nil
}

// yamlToJSON converts a YAML node to JSON, keeping mapping key order (the
// column order of feature_stats) and writing YAML's .nan/.inf as NaN and
// Infinity tokens, which stats.ParseDataset accepts as MLRun's JSON does.
func yamlToJSON(n *yaml.Node) (json.RawMessage, error) {
	var b bytes.Buffer
	if err := writeJSON(&b, n, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

const maxYAMLDepth = 64

func writeJSON(b *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > maxYAMLDepth {
		return errors.New("nested too deeply")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return errors.New("empty document")
		}
		return writeJSON(b, n.Content[0], depth+1)
	case yaml.AliasNode:
		return writeJSON(b, n.Alias, depth+1)
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(n.Content[i].Value)
			b.Write(k)
			b.WriteByte(':')
			if err := writeJSON(b, n.Content[i+1], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, c, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int", "!!float":
			switch strings.ToLower(n.Value) {
			case ".nan":
				b.WriteString("NaN")
			case ".inf", "+.inf":
				b.WriteString("Infinity")
			case "-.inf":
				b.WriteString("-Infinity")
			default:
				if _, err := strconv.ParseFloat(n.Value, 64); err != nil {
					return fmt.Errorf("number %q: %w", n.Value, err)
				}
				b.WriteString(n.Value)
			}
		case "!!bool":
			b.WriteString(strings.ToLower(n.Value))
		case "!!null":
			b.WriteString("null")
		default:
			s, _ := json.Marshal(n.Value)
			b.Write(s)
		}
	default:
		return fmt.Errorf("unexpected YAML node kind %d", n.Kind)
	}
	return nil
}

// mlrunSpecIn returns the model_spec.yaml path of a local folder holding
// one, or "".
func mlrunSpecIn(dir string) string {
	p := filepath.Join(dir, MLRunSpecFile)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

// yamlUnmarshal decodes YAML, turning a decoder panic (deep nesting, alias
// bombs) into an error.
func yamlUnmarshal(b []byte, v any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: YAML: %v", ErrNotBundle, p)
		}
	}()
	return yaml.Unmarshal(b, v)
}
