"""Calendar feeds (METHOD:PUBLISH) and the shared iCalendar builder."""
