"""Training data from feedback: distill rated interactions into versioned fine-tuning batches."""
