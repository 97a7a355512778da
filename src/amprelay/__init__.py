"""amprelay: a self-hosted Amplitude (Actions) destination."""

__version__ = "0.1.0"
