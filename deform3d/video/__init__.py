"""The video layer: a run (or several, side by side) turned into frames and files.

Owns: the one frame pipeline (timeline + renderer -> frames with their states), the checked
``VideoPlan`` that ``record``, ``compare``, ``demo`` and the notebook's videos all go through, the
time codes, and the grid of cells that ``compare`` draws. May import ``core``, ``graphics`` and
``media`` (it joins the two); never Qt, IPython or torch. Importing it imports nothing heavy.
"""
