package drift

import (
	"encoding/json"
	"strconv"

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

// ExtendedJSON encodes the extended metrics as their own document (MLRun's
// artifacts are left exactly as MLRun writes them):
//
//	{"features": {name: {
//	     "psi", "js_distance", "ks", "ks_source",              (compared features)
//	     "missing_rate_reference", "missing_rate_batch",
//	     "missing_rate_change",                                 (both sides present)
//	     "categorical": {"tvd", "hellinger", "linf", "value", "status",
//	         "chi_square", "chi_square_dof", "chi_square_p_value",
//	         "unseen_count", "unseen_share", "unseen": [names]}  (categorical features)
//	   }, ...},
//	 "psi_mean", "js_distance_mean", "ks_mean",
//	 "assessed_features", "drifted_features", "drifted_share"}
//
// Features appear in Result.Features order, those with no extended metric
// are left out. The formulas are on Feature, PSIJS, HistKS, stats.KS and
// CompareCategories.
func (r Result) ExtendedJSON() ([]byte, error) {
	b := []byte(`{"features":{`)
	first := true
	for _, f := range r.Features {
		if !f.Compared && !f.HasMissing && !f.Categorical {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendKey(b, f.Name)
		b = append(b, '{')
		var kvs []kv
		if f.Compared {
			kvs = append(kvs, kv{"psi", f.PSI}, kv{"js_distance", f.JSD}, kv{"ks", f.KS})
		}
		if f.HasMissing {
			kvs = append(kvs, kv{"missing_rate_reference", f.MissingRef}, kv{"missing_rate_batch", f.MissingBatch},
				kv{"missing_rate_change", f.MissingChange})
		}
		b = appendFloats(b, kvs)
		if f.Compared {
			b = append(b, `,"ks_source":`...)
			b = appendString(b, f.KSSource)
		}
		if f.Categorical {
			if len(kvs) > 0 {
				b = append(b, ',')
			}
			b = append(b, `"categorical":{`...)
			b = appendFloats(b, []kv{
				{"tvd", f.CatTVD}, {"hellinger", f.CatHellinger}, {"linf", f.CatLInf}, {"value", f.CatValue},
				{"chi_square", f.ChiSquare}, {"chi_square_p_value", f.ChiSquareP}, {"unseen_share", f.UnseenShare},
			})
			b = append(b, `,"status":`...)
			b = appendString(b, string(f.CatStatus))
			b = append(b, `,"chi_square_dof":`...)
			b = strconv.AppendInt(b, int64(f.ChiSquareDoF), 10)
			b = append(b, `,"unseen_count":`...)
			b = strconv.AppendInt(b, int64(f.Unseen), 10)
			b = append(b, `,"unseen":[`...)
			for i, v := range r.Unseen[f.Name] {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, v)
			}
			b = append(b, "]}"...)
		}
		b = append(b, '}')
	}
	b = append(b, "},"...)
	b = appendFloats(b, []kv{{"psi_mean", r.PSIMean}, {"js_distance_mean", r.JSDMean}, {"ks_mean", r.KSMean}})
	b = append(b, `,"assessed_features":`...)
	b = strconv.AppendInt(b, int64(r.Assessed), 10)
	b = append(b, `,"drifted_features":`...)
	b = strconv.AppendInt(b, int64(r.Drifted), 10)
	b = append(b, `,"drifted_share":`...)
	b = stats.AppendJSONFloat(b, r.DriftedShare)
	return append(b, '}'), nil
}

type kv struct {
	k string
	v float64
}

func appendFloats(b []byte, kvs []kv) []byte {
	for i, x := range kvs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKey(b, x.k)
		b = stats.AppendJSONFloat(b, x.v)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil { // unreachable: strings always encode
		panic(err)
	}
	return append(b, q...)
}
