"""Authentication and authorisation: JWT sessions, passwords, the secret box and RBAC."""
