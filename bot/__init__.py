"""RIS3 assistant bot package."""
