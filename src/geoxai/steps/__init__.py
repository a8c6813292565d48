"""One thin function per workflow rule: build the settings, read the inputs, call the science,
write the outputs. The rules of ``workflow/rules/<file>.smk`` are the functions of
``geoxai/steps/<file>.py``; the command line (:mod:`geoxai.cli`) calls them.
"""
