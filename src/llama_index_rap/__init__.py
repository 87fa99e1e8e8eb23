"""llama-index-rap."""
