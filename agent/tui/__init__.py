"""The live lab: a Textual front end over the campaign's events (DESIGN §5)."""
