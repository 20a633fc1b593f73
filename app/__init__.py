"""Cercle: a self-hosted micro-community forum for brands."""
