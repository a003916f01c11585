"""Colour quality on unseen ground: the leave-source-out catalogue and the evaluation protocol."""
