"""Who is calling: API keys and their scopes, the authenticated caller, and the trail of what
its request did (written as its audit row by app.audit)."""
