"""The data team's side: loaders, the synthetic school, training, evaluation and benchmarks."""
