"""Services: one module per API tag; validation, RBAC, orchestration and commits live here."""
