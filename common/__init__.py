"""Plumbing shared by the lessons: reading images, flags, figures, quiet TensorFlow."""
