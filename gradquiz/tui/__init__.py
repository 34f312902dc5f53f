"""The Textual app. Imports no torch: experiments run in the lab's worker processes."""
