"""Calendar output: one iCalendar builder shared by feeds and invitation e-mails."""
