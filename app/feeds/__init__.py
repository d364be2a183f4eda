"""Calendar output: feeds (METHOD:PUBLISH) and the one iCalendar builder shared with invitation e-mails."""
