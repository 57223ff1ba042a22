"""Command groups of ``argocd``; each module exposes ``register(subparsers, common)``."""
