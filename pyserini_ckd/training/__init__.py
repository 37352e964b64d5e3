"""Training the dense student (and, with the same loop, teachers): data, losses, trainer."""
