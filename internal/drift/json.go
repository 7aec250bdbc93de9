package drift

import (
	"encoding/json"

	"github.com/batchinfer/batchinfer/internal/stats"
)

// DriftResultsJSON encodes MLRun's drift_results artifact: the compared
// features in column order, each {"tvd", "hellinger", "kld"}, then
// "tvd_sum", "tvd_mean", "hellinger_sum", "hellinger_mean", "kld_sum",
// "kld_mean". Floats are spelled as Python's repr (stats.AppendJSONFloat).
func (r Result) DriftResultsJSON() ([]byte, error) {
	b := []byte{'{'}
	for _, f := range r.Features {
		if !f.Compared {
			continue
		}
		b = appendKey(b, f.Name)
		b = append(b, `{"tvd":`...)
		b = stats.AppendJSONFloat(b, f.TVD)
		b = append(b, `,"hellinger":`...)
		b = stats.AppendJSONFloat(b, f.Hellinger)
		b = append(b, `,"kld":`...)
		b = stats.AppendJSONFloat(b, f.KLD)
		b = append(b, "},"...)
	}
	for _, kv := range []struct {
		k string
		v float64
	}{
		{"tvd_sum", r.TVDSum}, {"tvd_mean", r.TVDMean},
		{"hellinger_sum", r.HellingerSum}, {"hellinger_mean", r.HellingerMean},
		{"kld_sum", r.KLDSum}, {"kld_mean", r.KLDMean},
	} {
		b = appendKey(b, kv.k)
		b = stats.AppendJSONFloat(b, kv.v)
		b = append(b, ',')
	}
	b[len(b)-1] = '}'
	return b, nil
}

// FeaturesDriftJSON encodes MLRun's features_drift_results artifact:
// {feature: (tvd+hellinger)/2} for the compared features in column order.
func (r Result) FeaturesDriftJSON() ([]byte, error) {
	b := []byte{'{'}
	for _, f := range r.Features {
		if !f.Compared {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = appendKey(b, f.Name)
		b = stats.AppendJSONFloat(b, f.Value)
	}
	return append(b, '}'), nil
}

func appendKey(b []byte, k string) []byte {
	q, err := json.Marshal(k)
	if err != nil { // unreachable: strings always encode
		panic(err)
	}
	b = append(b, q...)
	return append(b, ':')
}
