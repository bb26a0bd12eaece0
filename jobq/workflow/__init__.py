"""Workflows: signatures, chains, groups, chords and dependencies between jobs."""
