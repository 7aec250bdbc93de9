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
//
// Beside MLRun's numbers, never instead of them, Analyze computes extended
// metrics, each documented with its formula: PSI and the Jensen-Shannon
// distance on the same bins (PSIJS), a KS statistic from the quantile
// sketches (stats.KS) or, for statistics without one, from the histogram
// CDFs (HistKS), the missing-rate change per column, categorical drift (TVD,
// Hellinger, L-infinity, chi-square p-value, unseen categories:
// CompareCategories) and the share of drifted features. They are written by
// Result.ExtendedJSON as a separate document; DriftResultsJSON and
// FeaturesDriftJSON keep exactly MLRun's keys.
package drift
