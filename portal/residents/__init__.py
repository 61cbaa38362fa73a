"""Residents: the municipality's "customers", their households and preferences."""
