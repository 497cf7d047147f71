"""The GraphQL API (Strawberry on FastAPI) and the web UI."""
