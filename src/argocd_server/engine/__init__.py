"""The GitOps engine: rendering, diff, health, tracking and sync planning."""
