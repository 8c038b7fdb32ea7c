"""The domain: the Account aggregate, its events, commands and rules. No I/O here."""
