"""Initiatives as feeds (Atom 1.0, JSON Feed 1.1) and as CSV."""
