"""The runner host: workers from the warm parent, their containment, what they send."""
