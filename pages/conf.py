"""Sphinx settings for the lesson pages (pages/build.py runs the lessons, then Sphinx)."""

project = "Deep learning with Keras: the seminar's lessons"
author = "the seminar"
extensions = ["myst_nb"]
exclude_patterns = ["downloads/*", "thumbnails/*"]
html_theme = "furo"
html_title = "Keras seminar lessons"
html_show_sourcelink = False
html_permalinks = False

# The notebooks arrive executed (pages/build.py runs each one with its own flags).
nb_execution_mode = "off"
nb_merge_streams = True  # a cell's printed lines as one block, in order
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 2

# Offline: no script or font from a CDN. The lessons write no LaTeX maths, so no page
# loads MathJax (Sphinx adds it only to a page with maths; pages/check_site.py checks).

suppress_warnings = ["mystnb.unknown_mime_type"]
html_show_copyright = False  # no copyright line in the footer: the licence is in the README
