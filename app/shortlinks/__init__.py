"""Short links: `/r/<code>` stands for a long link inside the app (an answer link in an SMS).

A short link expires with its target (the caller says when) and then shows a friendly "expired"
page; unknown codes are 404 and counted per address, so codes cannot be guessed cheaply. The
database never holds an answer link's token in clear: see app/shortlinks/models.py.
"""
