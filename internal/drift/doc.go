// Package drift compares the statistics of a scored batch with reference
// statistics the way MLRun's batch inference does (drift-spec sections 2-3),
// and encodes the results as MLRun's drift_results and features_drift_results
// artifacts.
//
// For every feature with a histogram on both sides, the histograms are
// normalised by the column count (not by the histogram sum, so out-of-range,
// NaN and Inf values are missing mass), and compared with the total variation
// distance, the Hellinger distance and a symmetric Kullback-Leibler
// divergence. The feature's drift value is the mean of TVD and Hellinger; the
// run's drift metric is the mean of the TVD and Hellinger means over the
// compared features.
package drift
