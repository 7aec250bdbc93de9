// Package lightgbm loads LightGBM text models (version=v2, v3 and v4, as
// written by Booster.save_model / the CLI's output_model) and scores rows with
// them in pure Go, exactly as LightGBM's own predictor does.
//
// Raw scores are bit-identical to LightGBM's predict_raw_score output: each
// output starts at 0.0 and adds, in float64 and in file order, the output of
// every tree of that output (tree i feeds output i mod num_tree_per_iteration).
// A tree's output follows LightGBM's rules:
//
//   - every input v with |v| <= 1.0000000180025095e-35 (float32(1e-35), the
//     text parser's zero threshold) is first replaced by +0;
//   - numerical split with missing type None: NaN is treated as 0, then
//     x <= threshold goes left; missing type NaN: NaN goes the default way;
//     missing type Zero: NaN and 0 go the default way; otherwise
//     x <= threshold goes left;
//   - categorical split: NaN, and x with int(x) < 0, go right; otherwise
//     category int(x) goes left iff its bit is set in the node's bitset
//     (unseen categories beyond the bitset go right);
//   - linear leaves: leaf_const + Σ leaf_coeff[j]·x[leaf_features[j]] summed
//     left to right, or leaf_value when any of those features is NaN.
//
// Random forests (average_output) print the plain sum as raw score; their
// prediction is transform(sum / iterations). Transforms (sigmoid, softmax,
// exp) use a correctly rounded exp, which agrees with the C library's exp
// that LightGBM calls on all but a few inputs in a thousand (then by 1 ulp);
// on the LightGBM 4.6.0 fixtures 99.9% of predictions are bit-identical.
//
// Evaluation: trees are flattened into one array of 16-byte nodes with
// float64 thresholds and adjacent children, rewritten at load time so that
// one rule, "second child iff b <= thr", covers every numerical split (see
// node); rows are copied in blocks into a column-interleaved buffer and
// groups of 8 rows descend each tree in lock-step, tree by tree, so every
// row still adds its trees in file order.
//
// Loading never trusts the input: every count is bounded by the bytes that
// hold it, trees are checked to be trees (children in range, every node
// reached exactly once from the root) and every feature index to be below
// max_feature_idx+1. Invalid input yields an error wrapping
// model.ErrMalformed; a valid model using a feature this package does not
// implement yields an error wrapping model.ErrUnsupported.
//
// A loaded Model is immutable and safe for concurrent use; prediction writes
// into caller-allocated buffers and does not allocate per row.
package lightgbm
