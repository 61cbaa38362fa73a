"""A synthetic municipality for demonstrations, development and benchmarks."""
