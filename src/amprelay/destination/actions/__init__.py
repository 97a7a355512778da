"""The destination's actions, one module each, every module exposing ``ACTION``."""
