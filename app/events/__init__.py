"""Monthly themes and activities."""
