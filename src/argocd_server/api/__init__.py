"""The HTTP layer: routers, dependencies, error rendering and transport middleware."""
