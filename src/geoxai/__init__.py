"""geoxai: physically interpretable neural networks for Earth system variability."""

__version__ = "0.1.0"
