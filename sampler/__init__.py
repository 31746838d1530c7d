"""Risk signals and scores, sampling designs, purchase plans and estimates of non-compliance."""
