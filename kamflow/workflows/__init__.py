"""State machines for the key-account workflows (one module per workflow)."""
