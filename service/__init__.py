"""jianfu's service: the HTTP API, auth, storage, the planner, the policy layer and web pages."""
