"""The formats instructors already use: a Jupyter notebook and Moodle XML, made from a pack.

No torch here: the runs come from the lab, through the CLI, as for every other export.
"""
