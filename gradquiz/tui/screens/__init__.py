"""The app's screens: the quiz (with its lab), the question list, help and dialogs."""
