"""Thin adapters from dataframe libraries to the core: each translates its own column
type to Arrow, calls one core function and translates the result back."""
