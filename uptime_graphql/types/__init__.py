"""GraphQL object types, one module each."""
