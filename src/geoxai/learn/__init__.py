"""Back end, learning: samples from the contract files, the networks, the labels and their split."""
