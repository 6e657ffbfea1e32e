"""The planner: candidates, utilities from the models, the optimiser, tiers, explanations, class plans."""
