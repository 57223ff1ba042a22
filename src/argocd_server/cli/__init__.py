"""The ``argocd`` command: an API client of the REST API with upstream's command grammar, flags and output."""
