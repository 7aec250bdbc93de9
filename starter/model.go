package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/batchinfer/batchinfer/internal/scoring"
)

func newModelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Manage model bundles (a model plus its reference statistics)",
	}
	cmd.AddCommand(newModelRegisterCmd())
	return cmd
}

func newModelRegisterCmd() *cobra.Command {
	var (
		in       scoring.RegisterInput
		training []string
	)
	cmd := &cobra.Command{
		Use:   "register --model FILE --training-set URI --label-columns L --to DIR",
		Short: "Write a model bundle: the model file plus a spec with the training set's statistics",
		Long: `Write a model bundle folder: the model file and bundle.json, a spec holding
the framework, format, input features (names and types), output (label)
names and feature_stats, the statistics of every training column, label
included, in MLRun's shape. 'starter run --model DIR' then uses them as the
drift reference. The training set is read like a dataset (CSV, Parquet,
JSON Lines, a folder, a URL).

--categorical-columns declares integer-valued columns (codes, ratings,
classes) categorical: their statistics are frequency tables (count, unique,
top, freq and the value counts) instead of histograms, runs describe them
the same way, and their drift is the categorical comparison
(drift_extended_results.json) rather than MLRun's histogram one.`,
		Example: `  starter model register --model model.json --training-set train.csv --label-columns labels --to ./my-model
  starter model register --model model.json --training-set train.csv --label-columns labels --categorical-columns store_id,rating --to ./my-model`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in.TrainingSet = training
			for i, t := range in.TrainingSet {
				in.TrainingSet[i] = mustAbs(t)
			}
			res, err := scoring.RegisterModel(cmd.Context(), in)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Wrote model bundle %s\n  framework %s (%s), objective %s\n  %d input features, label %v\n  reference statistics of %d columns over %d training rows\n",
				in.To, res.Spec.Framework, res.Spec.Format, res.Spec.Objective, len(res.Spec.Inputs), in.LabelColumns, res.Columns, res.Rows)
			if len(res.Spec.CategoricalColumns) > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "  categorical columns %v\n", res.Spec.CategoricalColumns)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.Model, "model", "", "model file (XGBoost .json or .ubj)")
	f.StringArrayVar(&training, "training-set", nil, "training set the reference statistics are computed from (file, folder or URL; repeatable)")
	f.StringSliceVar(&in.LabelColumns, "label-columns", nil, "label column(s) of the training set; prediction columns will carry these names")
	f.StringSliceVar(&in.DropColumns, "drop-columns", nil, "training columns that are neither features nor labels (names or 0-based positions)")
	f.StringSliceVar(&in.CategoricalColumns, "categorical-columns", nil, "training columns whose statistics are frequency tables instead of histograms, e.g. integer codes (names; comma-separated or repeated); a float column must hold only integral values (3.0 counts as \"3\"), a label column only for a classifier; recorded in bundle.json as categorical_columns")
	f.StringVar(&in.To, "to", "", "bundle folder to write (created; existing bundle files are replaced)")
	for _, name := range []string{"model", "training-set", "label-columns", "to"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}
